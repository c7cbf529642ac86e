//! Where executions are kept. The embedded store holds them in memory and
//! writes them to one JSON file (beside the service's configuration) on
//! every change, atomically (a temporary file renamed over the old one), so
//! a restarted `serve` continues them. An execution is claimed for the
//! length of one action: a second action on it meanwhile is refused (409),
//! so two actions never interleave and none is applied by halves.

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

/// The executions, by id.
pub struct Store {
    path: Option<PathBuf>,
    inner: Mutex<Inner>,
}

impl Store {
    /// A store in memory only (tests, `--dev`).
    pub fn memory() -> Store {
        Store {
            path: None,
            inner: Mutex::default(),
        }
    }

    /// The store in the file `path`, with the executions it already holds.
    pub fn file(path: &Path) -> Result<Store, StoreError> {
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
        Ok(Store {
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
