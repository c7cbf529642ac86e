//! The runtime: one host (engine with a pooling allocator, epoch ticker,
//! linker, HTTP client with the network policy, artifact cache) shared by
//! every connector loaded into it, at start or while it runs.
//!
//! Loading does everything that can be done once: compile (or take the
//! precompiled artifact from the cache), pre-instantiate, read and check
//! the manifest (cached beside the artifact), and resolve every export. An
//! invocation then costs a schema check, an instantiation from the pool,
//! the guest's work, and a schema check (see `connector.rs`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi_config::WasiConfig;

use crate::cache::ArtifactCache;
use crate::connector::{read_manifest, Connector};
use crate::contract::CapabilityInfo;
use crate::deadline::Deadlines;
use crate::error::Error;
use crate::outbound::{new_client, HttpClient};
use crate::policy::NetworkPolicy;
use crate::store::State;
use crate::tenant::Tenant;

/// How the runtime is set up. Per-invocation limits belong to tenants
/// ([`crate::Tenant::builder`]); these are the process-wide ceilings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The largest linear memory any instance may have (the pool slot size);
    /// a tenant's `memory_bytes` above it is capped to it.
    pub max_memory_bytes: usize,
    /// Instances that may be alive at once (pool size).
    pub max_instances: u32,
    /// Time to establish a connection to an API.
    pub connect_timeout: Duration,
    /// Where precompiled artifacts are cached; `None` disables the cache.
    /// The directory is created `0700` and used only while it is this
    /// user's and private (see SECURITY.md).
    pub cache_dir: Option<PathBuf>,
    /// Which addresses the host may connect to beyond the public internet,
    /// and which origins tenant-supplied URL overrides may name.
    pub network: NetworkPolicy,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_memory_bytes: 256 << 20,
            max_instances: 1000,
            connect_timeout: Duration::from_secs(5),
            cache_dir: default_cache_dir(),
            network: NetworkPolicy::default(),
        }
    }
}

/// `$CONNECTOR_HOST_CACHE_DIR`, else `$XDG_CACHE_HOME/connector-host`, else
/// `~/.cache/connector-host`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CONNECTOR_HOST_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("connector-host"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/connector-host"))
}

/// How often the engine's epoch advances; the CPU budget is counted in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What every loaded connector shares.
pub(crate) struct HostInner {
    pub engine: Engine,
    /// The coarse deadlines of every invocation's limits, fired by the ticker.
    pub deadlines: Deadlines,
    pub linker: Linker<State>,
    pub client: HttpClient,
    pub cache: Option<ArtifactCache>,
    pub network: NetworkPolicy,
    pub max_memory_bytes: usize,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for HostInner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// The host with its loaded connectors. Clone it freely; clones share
/// everything, including the connectors loaded later.
#[derive(Clone)]
pub struct Runtime {
    host: Arc<HostInner>,
    connectors: Arc<RwLock<Vec<Connector>>>,
}

fn engine(config: &RuntimeConfig) -> Result<Engine, Error> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(config.max_instances);
    pool.total_core_instances(config.max_instances * 8);
    pool.total_memories(config.max_instances * 2);
    pool.total_tables(config.max_instances * 4);
    pool.max_memory_size(config.max_memory_bytes);
    // A slot that is reused keeps its pages resident, so the next instance
    // takes no page faults and the slot needs no `madvise`. Where the kernel
    // can say which pages an instance wrote (PAGEMAP_SCAN, Linux 6.7), only
    // those are reset, up to 8 MiB: the guest's real dirty set. Elsewhere
    // the first `keep_resident` bytes are reset whether written or not, so
    // that stays at 1 MiB (most of it the guest's untouched stack).
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes);
        pool.linear_memory_keep_resident(8 << 20);
    } else {
        pool.linear_memory_keep_resident(1 << 20);
    }
    pool.table_keep_resident(1 << 16);
    let mut wasm = Config::new();
    // For profiling: `perf` names guest functions from the map wasmtime
    // writes to /tmp/perf-<pid>.map (see BENCHMARKS.md).
    if std::env::var_os("CONNECTOR_RUNTIME_PERFMAP").is_some() {
        wasm.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm).map_err(Error::load)
}

/// Compiles the component, or loads it from the artifact cache. The cache
/// key covers the component bytes and the engine's compatibility hash, so a
/// new component, wasmtime or configuration never loads a stale artifact;
/// the cache itself vouches for the bytes (see `cache.rs`). Returns the
/// component and the name its manifest is cached under.
fn load_component(
    engine: &Engine,
    bytes: &[u8],
    cache: Option<&ArtifactCache>,
) -> Result<(Component, String), Error> {
    // The key only has to tell artifacts of different components and
    // engine configurations apart; integrity is the cache's keyed digest.
    // BLAKE3 hashes a megabyte in about 0.1 ms (SipHash took 1 ms).
    let mut hasher = blake3::Hasher::new();
    hasher.update(bytes);
    let mut compatibility = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut compatibility);
    hasher.update(&std::hash::Hasher::finish(&compatibility).to_le_bytes());
    let key = format!("{}-{}", &hasher.finalize().to_hex()[..16], bytes.len());
    let artifact_name = format!("component-{key}.cwasm");
    let manifest_name = format!("component-{key}.manifest.json");
    let Some(cache) = cache else {
        return Ok((
            Component::new(engine, bytes).map_err(Error::load)?,
            manifest_name,
        ));
    };
    if let Some(artifact) = cache.load(&artifact_name) {
        // SAFETY: the cache verified these exact bytes against the digest
        // this host computed when it wrote them (see `cache.rs`), and
        // wasmtime checks the artifact's header against this engine.
        match unsafe { Component::deserialize(engine, &artifact) } {
            Ok(component) => return Ok((component, manifest_name)),
            Err(e) => tracing::warn!(error = %e, "ignoring unusable cached artifact"),
        }
    }
    let artifact = engine.precompile_component(bytes).map_err(Error::load)?;
    cache.store(&artifact_name, &artifact);
    // SAFETY: `artifact` was produced by this engine a moment ago.
    let component = unsafe { Component::deserialize(engine, &artifact) }.map_err(Error::load)?;
    Ok((component, manifest_name))
}

impl Runtime {
    /// A host with no connector loaded yet.
    pub fn new(config: RuntimeConfig) -> Result<Runtime, Error> {
        let started = std::time::Instant::now();
        // The first JSON Schema compiled in a process builds the validator
        // of the draft's meta-schema (2-3 ms), and loading a connector
        // compiles its settings schema: build it on a spare core while the
        // engine and the artifacts load.
        let _ = std::thread::Builder::new()
            .name("schema-warmup".into())
            .spawn(|| {
                let schema = serde_json::json!({ "type": "object", "properties": { "a": {} } });
                let _ = jsonschema::validator_for(&schema);
            });
        let engine = engine(&config)?;
        tracing::debug!(elapsed = ?started.elapsed(), "engine ready");
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::load)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Error::load)?;
        wasmtime_wasi_config::add_to_linker(&mut linker, |s: &mut State| {
            WasiConfig::from(&*s.config)
        })
        .map_err(Error::load)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let deadlines = Deadlines::default();
        {
            let engine = engine.clone();
            let deadlines = deadlines.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("epoch-ticker".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                        deadlines.fire();
                    }
                })
                .map_err(Error::load)?;
        }
        let client = new_client(config.connect_timeout, Arc::new(config.network.clone()));
        tracing::debug!(elapsed = ?started.elapsed(), "runtime ready");
        Ok(Runtime {
            host: Arc::new(HostInner {
                engine,
                deadlines,
                linker,
                client,
                cache: config.cache_dir.as_deref().and_then(ArtifactCache::open),
                network: config.network,
                max_memory_bytes: config.max_memory_bytes,
                ticker_stop,
            }),
            connectors: Arc::default(),
        })
    }

    /// A host with these components loaded.
    pub async fn with_connectors(
        config: RuntimeConfig,
        components: &[&[u8]],
    ) -> Result<Runtime, Error> {
        let runtime = Runtime::new(config)?;
        for bytes in components {
            runtime.load(bytes).await?;
        }
        Ok(runtime)
    }

    /// Loads a connector component from its bytes and makes it invocable. A
    /// connector of the same name is replaced; invocations already running
    /// finish with the old one.
    pub async fn load(&self, bytes: &[u8]) -> Result<Connector, Error> {
        let started = std::time::Instant::now();
        let host = &self.host;
        let (component, manifest_name) = load_component(&host.engine, bytes, host.cache.as_ref())?;
        tracing::debug!(elapsed = ?started.elapsed(), "component loaded");
        let pre = host
            .linker
            .instantiate_pre(&component)
            .map_err(Error::load)?;
        tracing::debug!(elapsed = ?started.elapsed(), "component pre-instantiated");
        // The manifest is a pure function of the component, so it is cached
        // under the same key: a warm start skips the guest's manifest call.
        let cached = host
            .cache
            .as_ref()
            .and_then(|c| c.load(&manifest_name))
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        let manifest = match cached {
            Some(manifest) => manifest,
            None => {
                let manifest = read_manifest(host, &pre).await?;
                if let Some(cache) = &host.cache {
                    cache.store(&manifest_name, manifest.to_string().as_bytes());
                }
                manifest
            }
        };
        tracing::debug!(elapsed = ?started.elapsed(), "manifest read");
        let connector = Connector::new(host.clone(), &component, pre, manifest)?;
        tracing::debug!(elapsed = ?started.elapsed(), connector = connector.name(), "connector ready");
        let mut connectors = self.connectors.write().unwrap();
        connectors.retain(|c| c.name() != connector.name());
        connectors.push(connector.clone());
        Ok(connector)
    }

    /// Loads a connector component from a `.wasm` file.
    pub async fn load_file(&self, path: &Path) -> Result<Connector, Error> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::load(format!("{}: {}", path.display(), e.kind())))?;
        self.load(&bytes).await
    }

    /// The loaded connectors, in loading order.
    pub fn connectors(&self) -> Vec<Connector> {
        self.connectors.read().unwrap().clone()
    }

    /// The loaded connector `name`.
    pub fn connector(&self, name: &str) -> Option<Connector> {
        self.connectors
            .read()
            .unwrap()
            .iter()
            .find(|c| c.name() == name)
            .cloned()
    }

    /// The operator's network policy (for [`crate::Trust::Tenant`] settings).
    pub fn network(&self) -> &NetworkPolicy {
        &self.host.network
    }

    /// Every capability of every loaded connector.
    pub fn capabilities(&self) -> Vec<CapabilityInfo> {
        self.connectors()
            .iter()
            .flat_map(|c| c.capabilities().cloned().collect::<Vec<_>>())
            .collect()
    }

    /// The connector and capability id `name` refers to: `connector/id`,
    /// or an `id` only one loaded connector has.
    pub fn resolve(&self, name: &str) -> Result<(Connector, String), Error> {
        let connectors = self.connectors.read().unwrap();
        if let Some((connector, id)) = name.split_once('/') {
            let found = connectors.iter().find(|c| c.name() == connector);
            return match found {
                Some(c) if c.capability(id).is_some() => Ok((c.clone(), id.to_owned())),
                _ => Err(Error::UnknownCapability {
                    capability: name.to_owned(),
                }),
            };
        }
        let having: Vec<&Connector> = connectors
            .iter()
            .filter(|c| c.capability(name).is_some())
            .collect();
        match having.as_slice() {
            [one] => Ok(((*one).clone(), name.to_owned())),
            [] => Err(Error::UnknownCapability {
                capability: name.to_owned(),
            }),
            several => Err(Error::AmbiguousCapability {
                capability: name.to_owned(),
                connectors: several.iter().map(|c| c.name().to_owned()).collect(),
            }),
        }
    }

    /// The description of capability `name` (see [`Runtime::resolve`]).
    pub fn capability(&self, name: &str) -> Result<CapabilityInfo, Error> {
        let (connector, id) = self.resolve(name)?;
        Ok(connector
            .capability(&id)
            .cloned()
            .expect("resolve found it"))
    }

    /// Invokes capability `name` (`id` or `connector/id`) for `tenant` with
    /// the JSON text `input`; see [`Connector::invoke`].
    pub async fn invoke(&self, tenant: &Tenant, name: &str, input: &str) -> Result<Value, Error> {
        let (connector, id) = self.resolve(name)?;
        connector.invoke(tenant, &id, input).await
    }
}
