//! The shared store: executions in one PostgreSQL table, so several `serve`
//! instances continue each other's executions. PostgreSQL because it is
//! the database operators of identity services already run and back up,
//! its row-level atomic `UPDATE ... WHERE` gives the one-action claim
//! across instances without another lock service, and a table of JSON
//! documents needs nothing Redis would do better at this volume.
//!
//! The claim is a lease (`claimed_until`, 60 s): an instance that dies
//! mid-action frees the execution when the lease runs out.

use tokio::sync::OnceCell;
use tokio_postgres::{Client, Config, NoTls};

use crate::store::StoreError;
use crate::Execution;

/// How long a claim holds if its instance never releases it.
const LEASE_SECONDS: i32 = 60;

/// Executions in PostgreSQL.
pub struct PgStore {
    config: Config,
    shown: String,
    client: OnceCell<Client>,
}

impl PgStore {
    /// The store for the connection string `url` (`postgres://...` or
    /// `host=... user=...`); it connects, and creates its table, on first
    /// use. The error never shows the string (it may hold a password).
    pub fn new(url: &str) -> Result<PgStore, StoreError> {
        let config: Config = url.parse().map_err(|_| StoreError {
            path: "executions.database".into(),
            message: "not a PostgreSQL connection string".into(),
        })?;
        let shown = format!(
            "postgresql database {} on {:?}",
            config.get_dbname().unwrap_or("(default)"),
            config.get_hosts().first()
        );
        Ok(PgStore {
            config,
            shown,
            client: OnceCell::new(),
        })
    }

    fn fail(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.shown.clone(),
            message: e.to_string().chars().take(300).collect(),
        }
    }

    async fn client(&self) -> Result<&Client, StoreError> {
        self.client
            .get_or_try_init(|| async {
                let (client, connection) =
                    self.config.connect(NoTls).await.map_err(|e| self.fail(e))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %e, "the executions database connection ended");
                    }
                });
                client
                    .batch_execute(
                        "CREATE TABLE IF NOT EXISTS connector_executions (
                             id text PRIMARY KEY,
                             body text NOT NULL,
                             version bigint NOT NULL,
                             claimed_until timestamptz
                         )",
                    )
                    .await
                    .map_err(|e| self.fail(e))?;
                Ok(client)
            })
            .await
    }

    fn body(&self, execution: &Execution) -> Result<String, StoreError> {
        serde_json::to_string(execution).map_err(|e| self.fail(e))
    }

    /// Adds a new execution.
    pub async fn insert(&self, execution: &Execution) -> Result<(), StoreError> {
        let body = self.body(execution)?;
        self.client()
            .await?
            .execute(
                "INSERT INTO connector_executions (id, body, version) VALUES ($1, $2, $3)",
                &[&execution.id, &body, &(execution.version as i64)],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// The execution `id`.
    pub async fn get(&self, id: &str) -> Result<Option<Execution>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT body FROM connector_executions WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(|e| self.fail(e))?;
        match row {
            Some(row) => {
                let body: String = row.get(0);
                serde_json::from_str(&body)
                    .map(Some)
                    .map_err(|e| self.fail(e))
            }
            None => Ok(None),
        }
    }

    /// Replaces execution `execution.id`.
    pub async fn update(&self, execution: &Execution) -> Result<(), StoreError> {
        let body = self.body(execution)?;
        self.client()
            .await?
            .execute(
                "UPDATE connector_executions SET body = $2, version = $3 WHERE id = $1",
                &[&execution.id, &body, &(execution.version as i64)],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Removes execution `id`.
    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM connector_executions WHERE id = $1", &[&id])
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Claims `id` for one action, atomically across instances.
    pub async fn claim(&self, id: &str) -> Result<bool, StoreError> {
        let claimed = self
            .client()
            .await?
            .execute(
                "UPDATE connector_executions
                    SET claimed_until = now() + make_interval(secs => $2)
                  WHERE id = $1 AND (claimed_until IS NULL OR claimed_until < now())",
                &[&id, &(LEASE_SECONDS as f64)],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(claimed == 1)
    }

    /// Gives the claim on `id` back (a failure leaves the lease to expire).
    pub async fn release(&self, id: &str) {
        if let Ok(client) = self.client().await {
            if let Err(e) = client
                .execute(
                    "UPDATE connector_executions SET claimed_until = NULL WHERE id = $1",
                    &[&id],
                )
                .await
            {
                tracing::warn!(error = %e, "an execution's claim was not released; its lease will expire");
            }
        }
    }
}
