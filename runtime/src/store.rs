//! The store of one invocation: a fresh WASI context with nothing in it
//! but clocks, randomness and a captured stderr, the connection's
//! `wasi:config` values, the outbound HTTP hook, a memory limiter and the
//! CPU budget counted in epoch ticks.

use std::sync::{Arc, Mutex};

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::WasiConfigVariables;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::connection::Connection;
use crate::deadline::Deadlines;
use crate::limits::Limits;
use crate::outbound::{HttpClient, Outbound, OutboundReport};
use crate::runtime::EPOCH_TICK;

/// Store state of one invocation.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: Outbound,
    /// What the guest reads through `wasi:config/store`.
    pub config: Arc<WasiConfigVariables>,
    /// The memory limit, and whether it was hit.
    pub limiter: MemoryLimiter,
    cpu_ticks: u64,
    cpu_budget: u64,
    /// Whether the CPU budget ran out.
    pub cpu_exceeded: bool,
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
pub(crate) struct MemoryLimiter {
    max: usize,
    /// Whether a growth was refused.
    pub hit: bool,
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

pub(crate) fn new_store(
    engine: &Engine,
    deadlines: &Deadlines,
    client: &HttpClient,
    connection: Option<&Arc<Connection>>,
    report: Arc<Mutex<OutboundReport>>,
    stderr: MemoryOutputPipe,
    limits: &Limits,
) -> Store<State> {
    // No environment, no arguments, no files, no sockets: only what the
    // connector needs (clocks, random, stderr for panic messages).
    let wasi = WasiCtx::builder().stderr(stderr).build();
    let config = connection.map(|c| c.config.clone()).unwrap_or_default();
    let state = State {
        wasi,
        table: ResourceTable::new(),
        http: WasiHttpCtx::new(),
        hooks: Outbound {
            connection: connection.cloned(),
            client: client.clone(),
            limits: limits.http,
            report,
            deadlines: deadlines.clone(),
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
    // the API. Yielding lets other invocations share the thread.
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
