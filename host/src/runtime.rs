//! The runtime: loads the connector component once and runs each
//! invocation in a fresh, limited sandbox.
//!
//! Load time does everything that can be done once: engine with a pooling
//! allocator, compile (or load the precompiled artifact from the cache),
//! link, pre-instantiate, read the manifest, compile every capability's
//! input and output JSON Schema, and find every export. An invocation then
//! costs a schema check, an instantiation from the pool, the guest's work,
//! and a schema check.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::exports::identity::pingone_mfa::capabilities::{
    ConnectorError as GuestError, InputError,
};
use crate::bindings::ConnectorPre;
use crate::cache::ArtifactCache;
use crate::error::{ApiErrorDetail, Error, Limit};
use crate::limits::Limits;
use crate::outbound::{new_client, HttpClient, Outbound, OutboundReport};
use crate::policy::NetworkPolicy;
use crate::tenant::Tenant;

/// How the runtime is set up. Per-invocation limits belong to tenants
/// ([`crate::Tenant::from_operator`]); these are the process-wide ceilings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The largest linear memory any instance may have (the pool slot size);
    /// a tenant's `memory_bytes` above it is capped to it.
    pub max_memory_bytes: usize,
    /// Instances that may be alive at once (pool size).
    pub max_instances: u32,
    /// Time to establish a connection to PingOne.
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

/// The component embedded at build time.
pub const PINGONE_MFA_COMPONENT: &[u8] = include_bytes!(env!("PINGONE_MFA_COMPONENT"));

/// One capability as the manifest describes it.
#[derive(Debug, Clone)]
pub struct CapabilityInfo {
    /// DaVinci id, e.g. `readDevice`.
    pub id: String,
    /// WIT function name, e.g. `read-device`.
    pub wit_function: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Input JSON Schema.
    pub input_schema: Value,
    /// Output JSON Schema.
    pub output_schema: Value,
}

struct Entry {
    info: CapabilityInfo,
    export: ComponentExportIndex,
    /// Compiled on first use: compiling all 52 schemas up front would cost
    /// a cold start more than the first invocations of a few capabilities.
    input: OnceLock<Result<jsonschema::Validator, Error>>,
    output: OnceLock<Result<jsonschema::Validator, Error>>,
}

impl Entry {
    fn validator<'a>(
        &'a self,
        cell: &'a OnceLock<Result<jsonschema::Validator, Error>>,
        schema: &Value,
        what: &str,
    ) -> Result<&'a jsonschema::Validator, Error> {
        cell.get_or_init(|| {
            jsonschema::validator_for(schema)
                .map_err(|e| Error::load(format!("{} {what} schema: {e}", self.info.id)))
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    fn input(&self) -> Result<&jsonschema::Validator, Error> {
        self.validator(&self.input, &self.info.input_schema, "input")
    }

    fn output(&self) -> Result<&jsonschema::Validator, Error> {
        self.validator(&self.output, &self.info.output_schema, "output")
    }
}

/// The loaded connector. Clone it freely; clones share everything.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    pre: InstancePre<State>,
    manifest: Value,
    entries: HashMap<String, Entry>,
    order: Vec<String>,
    client: HttpClient,
    max_memory_bytes: usize,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Store state of one invocation.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: Outbound,
    config: Arc<WasiConfigVariables>,
    limiter: MemoryLimiter,
    cpu_ticks: u64,
    cpu_budget: u64,
    cpu_exceeded: bool,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Caps linear memory and remembers that it did, so an allocation failure
/// inside the guest is reported as the memory limit, not a bare trap.
struct MemoryLimiter {
    max: usize,
    hit: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // The pool slot's own bound refused the growth after we said yes.
        self.hit = true;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

fn engine(config: &RuntimeConfig) -> Result<Engine, Error> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(config.max_instances);
    pool.total_core_instances(config.max_instances * 8);
    pool.total_memories(config.max_instances * 2);
    pool.total_tables(config.max_instances * 4);
    pool.max_memory_size(config.max_memory_bytes);
    // Keep a little of each slot resident: reusing a slot then skips page faults.
    pool.linear_memory_keep_resident(1 << 20);
    pool.table_keep_resident(1 << 16);
    let mut wasm = Config::new();
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
    // A fast hash (SipHash, about 1 GB/s) keeps the warm start short.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(bytes, &mut hasher);
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    let key = format!(
        "{:016x}-{}",
        std::hash::Hasher::finish(&hasher),
        bytes.len()
    );
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
    /// Loads the embedded PingOne MFA component.
    pub async fn new(config: RuntimeConfig) -> Result<Runtime, Error> {
        Self::from_component(PINGONE_MFA_COMPONENT, config).await
    }

    /// Loads a component from its bytes.
    pub async fn from_component(bytes: &[u8], config: RuntimeConfig) -> Result<Runtime, Error> {
        let started = std::time::Instant::now();
        let engine = engine(&config)?;
        tracing::debug!(elapsed = ?started.elapsed(), "engine ready");
        let cache = config.cache_dir.as_deref().and_then(ArtifactCache::open);
        let (component, manifest_name) = load_component(&engine, bytes, cache.as_ref())?;
        tracing::debug!(elapsed = ?started.elapsed(), "component loaded");
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::load)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Error::load)?;
        wasmtime_wasi_config::add_to_linker(&mut linker, |s: &mut State| {
            WasiConfig::from(&*s.config)
        })
        .map_err(Error::load)?;
        let pre = linker.instantiate_pre(&component).map_err(Error::load)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("epoch-ticker".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(Error::load)?;
        }

        let client = new_client(config.connect_timeout, Arc::new(config.network.clone()));
        tracing::debug!(elapsed = ?started.elapsed(), "pre-instantiated");
        // The manifest is a pure function of the component, so it is cached
        // under the same key: a warm start skips the guest's manifest call.
        let cached = cache
            .as_ref()
            .and_then(|c| c.load(&manifest_name))
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        let manifest = match cached {
            Some(manifest) => manifest,
            None => {
                let manifest = read_manifest(&engine, &pre, &client).await?;
                if let Some(cache) = &cache {
                    cache.store(&manifest_name, manifest.to_string().as_bytes());
                }
                manifest
            }
        };
        tracing::debug!(elapsed = ?started.elapsed(), "manifest read");
        let interface = component
            .get_export_index(None, "identity:pingone-mfa/capabilities@0.1.0")
            .ok_or_else(|| {
                Error::load("the component does not export identity:pingone-mfa/capabilities@0.1.0")
            })?;
        let mut entries = HashMap::new();
        let mut order = Vec::new();
        for cap in manifest["capabilities"].as_array().into_iter().flatten() {
            let text = |k: &str| cap[k].as_str().unwrap_or_default().to_owned();
            let info = CapabilityInfo {
                id: text("id"),
                wit_function: text("witFunction"),
                title: text("title"),
                description: text("description"),
                input_schema: cap["inputSchema"].clone(),
                output_schema: cap["outputSchema"].clone(),
            };
            let export = component
                .get_export_index(Some(&interface), &info.wit_function)
                .ok_or_else(|| {
                    Error::load(format!(
                        "capability {} has no export {}",
                        info.id, info.wit_function
                    ))
                })?;
            order.push(info.id.clone());
            entries.insert(
                info.id.clone(),
                Entry {
                    info,
                    export,
                    input: OnceLock::new(),
                    output: OnceLock::new(),
                },
            );
        }
        if entries.is_empty() {
            return Err(Error::load("the manifest lists no capabilities"));
        }
        tracing::debug!(elapsed = ?started.elapsed(), capabilities = entries.len(), "runtime ready");
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                pre,
                manifest,
                entries,
                order,
                client,
                max_memory_bytes: config.max_memory_bytes,
                ticker_stop,
            }),
        })
    }

    /// The connector's manifest, as the component reported it.
    pub fn manifest(&self) -> &Value {
        &self.inner.manifest
    }

    /// The capabilities, in manifest order.
    pub fn capabilities(&self) -> impl Iterator<Item = &CapabilityInfo> {
        self.inner
            .order
            .iter()
            .map(|id| &self.inner.entries[id].info)
    }

    /// Compiles every capability's input and output schema now instead of
    /// at first use, for embedders that want a bad schema to fail at deploy.
    pub fn compile_schemas(&self) -> Result<(), Error> {
        for entry in self.inner.entries.values() {
            entry.input()?;
            entry.output()?;
        }
        Ok(())
    }

    /// One capability's description.
    pub fn capability(&self, id: &str) -> Option<&CapabilityInfo> {
        self.inner.entries.get(id).map(|e| &e.info)
    }

    /// Invokes capability `id` for `tenant` with the JSON text `input`;
    /// returns the output JSON. Runs within the tenant's limits, after
    /// waiting for one of its concurrency slots.
    pub async fn invoke(&self, tenant: &Tenant, id: &str, input: &str) -> Result<Value, Error> {
        let _slot = tenant.acquire(id).await?;
        let mut limits = *tenant.limits();
        limits.memory_bytes = limits.memory_bytes.min(self.inner.max_memory_bytes);
        let result = self
            .run(tenant, id, input, &limits)
            .await
            .map_err(|e| e.bounded(limits.max_output_bytes));
        tenant.record(&result);
        result
    }

    async fn run(
        &self,
        tenant: &Tenant,
        id: &str,
        input: &str,
        limits: &Limits,
    ) -> Result<Value, Error> {
        let entry = self
            .inner
            .entries
            .get(id)
            .ok_or_else(|| Error::UnknownCapability {
                capability: id.to_owned(),
            })?;
        check_input(entry, id, input, limits)?;
        let capability = || id.to_owned();

        let report = Arc::new(Mutex::new(OutboundReport::default()));
        let stderr = MemoryOutputPipe::new(4096);
        let mut store = self.new_store(Some(tenant), report.clone(), stderr.clone(), limits);
        let outcome = tokio::time::timeout(limits.wall_time, async {
            let instance = self.inner.pre.instantiate_async(&mut store).await?;
            let func = instance.get_typed_func::<(&str,), (Result<String, GuestError>,)>(
                &mut store,
                &entry.export,
            )?;
            let (result,) = func.call_async(&mut store, (input,)).await?;
            Ok::<_, wasmtime::Error>(result)
        })
        .await;

        let report = std::mem::take(&mut *report.lock().unwrap());
        let state = store.data();
        let guest_result = match outcome {
            Err(_) => {
                return Err(Error::Limit {
                    capability: capability(),
                    limit: Limit::WallClock,
                    message: format!("the invocation took longer than {:?}", limits.wall_time),
                })
            }
            Ok(Err(trap)) => return Err(self.trap_error(id, trap, state, &report, &stderr, limits)),
            Ok(Ok(result)) => result,
        };
        // What the host saw below the guest is the real cause, whatever the
        // guest made of the error it was handed.
        if let Some((url, reason)) = report.denied {
            return Err(Error::Denied {
                capability: capability(),
                url,
                reason,
            });
        }
        if let Some(e) = report.token_error {
            return Err(Error::Token {
                capability: capability(),
                status: e.status,
                code: e.code,
                message: e.message,
            });
        }
        if let Some((limit, message)) = report.limit {
            return Err(Error::Limit {
                capability: capability(),
                limit,
                message,
            });
        }
        let output = guest_result.map_err(|e| match report.transport {
            // The guest only got a wasi:http code; the host knows the cause.
            Some(failure) => Error::Transport {
                capability: capability(),
                code: failure.code.to_owned(),
                message: failure.message,
            },
            None => guest_error(id, e),
        })?;
        check_output(entry, id, &output, limits)
    }

    /// Benchmark probe, not part of the API: what an invocation spends
    /// before the guest runs, alone: creating the store and instantiating
    /// the component from the pool. Returns (store, instantiate) times.
    #[doc(hidden)]
    pub async fn probe_instantiate(
        &self,
        tenant: &Tenant,
    ) -> Result<(std::time::Duration, std::time::Duration), Error> {
        let limits = *tenant.limits();
        let report = Arc::new(Mutex::new(OutboundReport::default()));
        let start = std::time::Instant::now();
        let mut store = self.new_store(Some(tenant), report, MemoryOutputPipe::new(4096), &limits);
        let stored = start.elapsed();
        self.inner
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(Error::load)?;
        Ok((stored, start.elapsed() - stored))
    }

    /// Benchmark probe, not part of the API: the input and output checks
    /// of capability `id` (size, parse, JSON Schema), as an invocation runs them.
    #[doc(hidden)]
    pub fn probe_validate(&self, id: &str, input: &str, output: &str) -> Result<(), Error> {
        let entry = self
            .inner
            .entries
            .get(id)
            .ok_or_else(|| Error::UnknownCapability {
                capability: id.to_owned(),
            })?;
        let limits = Limits::default();
        check_input(entry, id, input, &limits)?;
        check_output(entry, id, output, &limits).map(drop)
    }

    fn new_store(
        &self,
        tenant: Option<&Tenant>,
        report: Arc<Mutex<OutboundReport>>,
        stderr: MemoryOutputPipe,
        limits: &Limits,
    ) -> Store<State> {
        new_store(
            &self.inner.engine,
            &self.inner.client,
            tenant,
            report,
            stderr,
            limits,
        )
    }

    fn trap_error(
        &self,
        id: &str,
        trap: wasmtime::Error,
        state: &State,
        report: &OutboundReport,
        stderr: &MemoryOutputPipe,
        limits: &Limits,
    ) -> Error {
        let capability = id.to_owned();
        if state.cpu_exceeded {
            return Error::Limit {
                capability,
                limit: Limit::Cpu,
                message: format!(
                    "the guest ran for more than {:?} of CPU time",
                    limits.cpu_time
                ),
            };
        }
        if state.limiter.hit {
            return Error::Limit {
                capability,
                limit: Limit::Memory,
                message: format!(
                    "the guest tried to grow its memory beyond {} bytes",
                    limits.memory_bytes
                ),
            };
        }
        if let Some((limit, message)) = &report.limit {
            return Error::Limit {
                capability,
                limit: *limit,
                message: message.clone(),
            };
        }
        let text = format!("{trap:#}");
        if text.contains("pooling allocator") || text.contains("maximum concurrent") {
            return Error::Limit {
                capability,
                limit: Limit::Instances,
                message: "no free instance slot; too many invocations in flight".into(),
            };
        }
        let code = trap.downcast_ref::<wasmtime::Trap>().map(|t| t.to_string());
        let guest_said = String::from_utf8_lossy(&stderr.contents())
            .trim()
            .to_owned();
        let mut message =
            code.unwrap_or_else(|| text.lines().next().unwrap_or("unknown trap").to_owned());
        if !guest_said.is_empty() {
            message.push_str("; guest stderr: ");
            message.push_str(&guest_said);
        }
        Error::Trap {
            capability,
            message,
        }
    }
}

fn new_store(
    engine: &Engine,
    client: &HttpClient,
    tenant: Option<&Tenant>,
    report: Arc<Mutex<OutboundReport>>,
    stderr: MemoryOutputPipe,
    limits: &Limits,
) -> Store<State> {
    // No environment, no arguments, no files, no sockets: only what the
    // connector needs (clocks, random, stderr for panic messages).
    let wasi = WasiCtx::builder().stderr(stderr).build();
    let config = tenant.map(|t| t.inner.config.clone()).unwrap_or_default();
    let state = State {
        wasi,
        table: ResourceTable::new(),
        http: WasiHttpCtx::new(),
        hooks: Outbound {
            tenant: tenant.cloned(),
            client: client.clone(),
            limits: limits.http,
            report,
        },
        config,
        limiter: MemoryLimiter {
            max: limits.memory_bytes,
            hit: false,
        },
        cpu_ticks: 0,
        cpu_budget: (limits.cpu_time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64,
        cpu_exceeded: false,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    // The callback runs only while guest code runs, once per epoch tick, so
    // counting its calls measures guest CPU time, not time spent waiting on
    // PingOne. Yielding lets other invocations share the thread.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        let state = ctx.data_mut();
        state.cpu_ticks += 1;
        if state.cpu_ticks > state.cpu_budget {
            state.cpu_exceeded = true;
            return Err(wasmtime::format_err!("guest CPU time limit exceeded"));
        }
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

async fn read_manifest(
    engine: &Engine,
    pre: &InstancePre<State>,
    client: &HttpClient,
) -> Result<Value, Error> {
    let report = Arc::new(Mutex::new(OutboundReport::default()));
    let mut store = new_store(
        engine,
        client,
        None,
        report,
        MemoryOutputPipe::new(4096),
        &Limits::default(),
    );
    let pre = ConnectorPre::new(pre.clone()).map_err(|e| {
        Error::load(format!(
            "the component does not fit the connector world: {e}"
        ))
    })?;
    let connector = pre
        .instantiate_async(&mut store)
        .await
        .map_err(Error::load)?;
    let text = connector
        .identity_pingone_mfa_capabilities()
        .call_manifest(&mut store)
        .await
        .map_err(|e| Error::load(format!("manifest() failed: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Error::load(format!("the manifest is not JSON: {e}")))
}

/// Size check, parse and schema check of an invocation's input.
fn check_input(entry: &Entry, id: &str, input: &str, limits: &Limits) -> Result<(), Error> {
    let capability = || id.to_owned();
    if input.len() > limits.max_input_bytes {
        return Err(Error::Limit {
            capability: capability(),
            limit: Limit::InputSize,
            message: format!(
                "the input is {} bytes; at most {} are accepted",
                input.len(),
                limits.max_input_bytes
            ),
        });
    }
    let parsed: Value = serde_json::from_str(input).map_err(|e| Error::InvalidInput {
        capability: capability(),
        pointer: String::new(),
        message: format!("the input is not valid JSON: {e}"),
    })?;
    check(entry.input()?, &parsed).map_err(|(pointer, message)| Error::InvalidInput {
        capability: capability(),
        pointer,
        message,
    })
}

/// Size check, parse and schema check of the guest's output; the parsed output.
fn check_output(entry: &Entry, id: &str, output: &str, limits: &Limits) -> Result<Value, Error> {
    let capability = || id.to_owned();
    if output.len() > limits.max_output_bytes {
        return Err(Error::Limit {
            capability: capability(),
            limit: Limit::OutputSize,
            message: format!(
                "the output is {} bytes; at most {} are accepted",
                output.len(),
                limits.max_output_bytes
            ),
        });
    }
    let parsed: Value = serde_json::from_str(output).map_err(|e| Error::InvalidOutput {
        capability: capability(),
        pointer: String::new(),
        message: format!("the output is not valid JSON: {e}"),
    })?;
    check(entry.output()?, &parsed).map_err(|(pointer, message)| Error::InvalidOutput {
        capability: capability(),
        pointer,
        message,
    })?;
    Ok(parsed)
}

/// Validates `value`; on failure, the first error's JSON pointer and message
/// (with the offending value masked: it may be an OTP). A missing required
/// field is reported at the field's own pointer, not at its parent.
fn check(validator: &jsonschema::Validator, value: &Value) -> Result<(), (String, String)> {
    // `is_valid` stops at the first failure and builds no error values:
    // the common case pays only for the check.
    if validator.is_valid(value) {
        return Ok(());
    }
    match validator.iter_errors(value).next() {
        None => Ok(()),
        Some(error) => {
            let mut pointer = error.instance_path().as_str().to_owned();
            if let jsonschema::error::ValidationErrorKind::Required {
                property: Value::String(name),
            } = error.kind()
            {
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
            }
            Err((pointer, error.masked().to_string()))
        }
    }
}

/// The one conversion from the WIT error to the host error.
fn guest_error(capability: &str, e: GuestError) -> Error {
    let capability = capability.to_owned();
    match e {
        GuestError::InvalidInput(InputError { pointer, message }) => Error::InvalidInput {
            capability,
            pointer,
            message,
        },
        GuestError::Api(a) => Error::Api {
            capability,
            status: a.status,
            id: a.id,
            code: a.code,
            message: a.message,
            details: a
                .details
                .into_iter()
                .map(|d| ApiErrorDetail {
                    code: d.code,
                    target: d.target,
                    message: d.message,
                    inner_error: d.inner_error.and_then(|i| serde_json::from_str(&i).ok()),
                })
                .collect(),
            omitted_details: 0,
        },
        GuestError::Transport(t) => Error::Transport {
            capability,
            code: t.code,
            message: t.message,
        },
        GuestError::Internal(message) => Error::Internal {
            capability,
            message,
        },
    }
}
