//! Where executions are kept. The embedded store ([`LocalStore`]) holds
//! them in memory and writes them to one JSON file (beside the service's
//! configuration) on every change, atomically (a temporary file renamed
//! over the old one), so a restarted `serve` continues them. The shared
//! store ([`crate::postgres::PgStore`]) keeps them in PostgreSQL, so several
//! `serve` instances continue each other's executions. Either way an
//! execution is claimed for the length of one action: a second action on it
//! meanwhile is refused (409), so two actions never interleave and none is
//! applied by halves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::Execution;

/// The largest store file read at start.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StoreError {
    /// The store's file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

#[derive(Default)]
struct Inner {
    executions: BTreeMap<String, Execution>,
    claimed: BTreeSet<String>,
}

/// Where executions are kept.
pub enum Store {
    /// In this process (memory, optionally a file).
    Local(LocalStore),
    /// In PostgreSQL, shared by every instance that names it (boxed: its
    /// connection configuration is large).
    Postgres(Box<crate::postgres::PgStore>),
}

impl Store {
    /// A store in memory only (tests, `--dev`).
    pub fn memory() -> Store {
        Store::Local(LocalStore::memory())
    }

    /// The embedded store in the file `path`.
    pub fn file(path: &Path) -> Result<Store, StoreError> {
        LocalStore::file(path).map(Store::Local)
    }

    /// Adds a new execution.
    pub async fn insert(&self, execution: Execution) -> Result<(), StoreError> {
        match self {
            Store::Local(s) => s.insert(execution),
            Store::Postgres(s) => s.insert(&execution).await,
        }
    }

    /// The execution `id`.
    pub async fn get(&self, id: &str) -> Result<Option<Execution>, StoreError> {
        match self {
            Store::Local(s) => s.get(id),
            Store::Postgres(s) => s.get(id).await,
        }
    }

    /// Replaces execution `execution.id`.
    pub async fn update(&self, execution: Execution) -> Result<(), StoreError> {
        match self {
            Store::Local(s) => s.update(execution),
            Store::Postgres(s) => s.update(&execution).await,
        }
    }

    /// Removes execution `id`.
    pub async fn remove(&self, id: &str) -> Result<(), StoreError> {
        match self {
            Store::Local(s) => s.remove(id),
            Store::Postgres(s) => s.remove(id).await,
        }
    }

    /// Claims `id` for one action; false when another action holds it.
    pub async fn claim(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Local(s) => s.claim(id),
            Store::Postgres(s) => s.claim(id).await,
        }
    }

    /// Gives the claim on `id` back.
    pub async fn release(&self, id: &str) {
        match self {
            Store::Local(s) => s.release(id),
            Store::Postgres(s) => s.release(id).await,
        }
    }
}

/// The embedded store: memory, and a file when one is named.
pub struct LocalStore {
    path: Option<PathBuf>,
    inner: Mutex<Inner>,
}

impl LocalStore {
    /// A store in memory only.
    pub fn memory() -> LocalStore {
        LocalStore {
            path: None,
            inner: Mutex::default(),
        }
    }

    /// The store in the file `path`, with the executions it already holds.
    pub fn file(path: &Path) -> Result<LocalStore, StoreError> {
        let bad = |message: String| StoreError {
            path: path.display().to_string(),
            message,
        };
        let mut executions = BTreeMap::new();
        match std::fs::metadata(path) {
            Ok(meta) if meta.len() > MAX_FILE_BYTES => {
                return Err(bad(format!("larger than {MAX_FILE_BYTES} bytes")))
            }
            Ok(_) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| bad(format!("cannot be read ({})", e.kind())))?;
                let list: Vec<Execution> = serde_json::from_str(&text)
                    .map_err(|e| bad(format!("not an execution store (line {})", e.line())))?;
                for execution in list {
                    executions.insert(execution.id.clone(), execution);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(bad(format!("cannot be read ({})", e.kind()))),
        }
        Ok(LocalStore {
            path: Some(path.to_owned()),
            inner: Mutex::new(Inner {
                executions,
                claimed: BTreeSet::new(),
            }),
        })
    }

    fn save(&self, inner: &Inner) -> Result<(), StoreError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let bad = |message: String| StoreError {
            path: path.display().to_string(),
            message,
        };
        let list: Vec<&Execution> = inner.executions.values().collect();
        let text = serde_json::to_vec(&list).map_err(|e| bad(e.to_string()))?;
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, text)
            .map_err(|e| bad(format!("cannot be written ({})", e.kind())))?;
        std::fs::rename(&temporary, path)
            .map_err(|e| bad(format!("cannot be replaced ({})", e.kind())))
    }

    /// Adds a new execution.
    pub fn insert(&self, execution: Execution) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap();
        inner.executions.insert(execution.id.clone(), execution);
        self.save(&inner)
    }

    /// The execution `id`.
    pub fn get(&self, id: &str) -> Result<Option<Execution>, StoreError> {
        Ok(self.inner.lock().unwrap().executions.get(id).cloned())
    }

    /// Replaces execution `execution.id`.
    pub fn update(&self, execution: Execution) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap();
        inner.executions.insert(execution.id.clone(), execution);
        self.save(&inner)
    }

    /// Removes execution `id`.
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap();
        if inner.executions.remove(id).is_some() {
            self.save(&inner)?;
        }
        Ok(())
    }

    /// Claims `id` for one action; false when another action holds it.
    pub fn claim(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.inner.lock().unwrap().claimed.insert(id.to_owned()))
    }

    /// Gives the claim on `id` back.
    pub fn release(&self, id: &str) {
        self.inner.lock().unwrap().claimed.remove(id);
    }

    /// How many executions it holds.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().executions.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
