//! The seed's flow templates: the definitions under `flows/` at the
//! repository root, loaded as one library and checked against a runtime.
//! `connector-host demo` and the flow tests run them.

use std::path::{Path, PathBuf};

use connector_flows::{FlowError, FlowLibrary};
use connector_runtime::Runtime;

/// The repository's `flows/` folder.
pub fn flows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../flows")
}

/// Every flow of `dir`, checked against `runtime` (each sub-flow exists,
/// each connector node names a capability it has loaded).
pub fn library(runtime: &Runtime, dir: &Path) -> Result<FlowLibrary, FlowError> {
    let mut library = FlowLibrary::new();
    library.add_dir(dir)?;
    library.check(runtime)?;
    Ok(library)
}
