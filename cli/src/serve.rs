//! `connector-host serve`: the runtime as an HTTP service (the
//! `connector-service` crate) behind the process's edges: the
//! configuration file or `--dev`, the listener, JSON logs, SIGHUP (reload
//! the tenants file) and SIGTERM (drain, then exit 0).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use connector_flows::BoxedDriver;
use connector_testkit::end_user::EmulatorUser;

use connector_runtime::{Limits, RuntimeConfig};
use connector_service::server::{serve, tls_acceptor, Drained, TlsAcceptor};
use connector_service::{Keys, ServeConfig, Service};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::io::Out;
use crate::{eprintln_quietly, runtime, Components};

/// The name of the tenant `--dev` creates.
const DEV_TENANT: &str = "dev";

/// `serve`'s arguments.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The service's configuration (see serve.example.toml).
    #[arg(
        long,
        value_name = "serve.toml",
        required_unless_present = "dev",
        conflicts_with = "dev"
    )]
    config: Option<PathBuf>,
    /// Development mode: the embedded PingOne emulator, a tenant `dev`
    /// connected to it and a generated admin key. The first stdout line is
    /// {"url", "apiKey", "tenant", "emulator"} as JSON.
    #[arg(long)]
    dev: bool,
    /// The port on 127.0.0.1 that --dev listens on (0 picks a free one).
    #[arg(long, requires = "dev", default_value_t = 8080)]
    port: u16,
    #[command(flatten)]
    components: Components,
}

/// What a started service needs besides itself: the listener, TLS, and in
/// `--dev` the emulator it owns.
struct Started {
    service: Service,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    emulator: Option<Arc<Emulator>>,
}

/// The end user of a run that starts while the service stops.
struct Gone;

impl connector_flows::Driver for Gone {
    async fn answer(&mut self, _: &connector_flows::WaitRequest) -> Result<Value, String> {
        Err("the development emulator has stopped".into())
    }
}

/// Runs the service until SIGTERM (or Ctrl-C), then drains.
pub async fn run(args: ServeArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    // The handlers are installed before the service announces itself on
    // stdout: a supervisor (or a test) that signals as soon as it reads the
    // first line must never meet the default action of SIGHUP and SIGTERM,
    // which kills the process. A SIGHUP that comes during the start waits
    // in its stream and is handled once the service runs.
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let start = async {
        match &args.config {
            Some(path) => from_config(path, &args.components, out).await,
            None => dev(args.port, &args.components, out).await,
        }
    };
    // A SIGTERM during the start (compiling the components can take a
    // while) stops it at once: nothing is in flight to drain yet.
    let started = tokio::select! {
        started = start => started?,
        _ = terminate.recv() => {
            tracing::info!("SIGTERM during the start: exiting");
            return Ok(ExitCode::SUCCESS);
        }
    };
    let Started {
        service,
        listener,
        tls,
        emulator,
    } = started;

    // SIGHUP reloads the tenants file; an invalid file changes nothing.
    let reloader = service.clone();
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match reloader.reload() {
                Ok(tenants) => tracing::info!(tenants, "tenants file reloaded (SIGHUP)"),
                Err(e) => tracing::error!(
                    error = %e.to_json(),
                    "tenants file not reloaded (SIGHUP); the tenants stay as they were"
                ),
            }
        }
    });
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: draining"),
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupt: draining"),
        }
    };
    let grace = service.server_limits().shutdown_grace();
    match serve(service, listener, tls, shutdown).await {
        Drained::Complete => tracing::info!("every in-flight request finished; exiting"),
        // The operator asked for the stop and set the deadline: exiting at
        // it is the requested outcome, so the exit status stays 0.
        Drained::GraceExpired => tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "the shutdown grace period ran out with requests in flight; exiting"
        ),
    }
    // A run that still holds the emulator lets it go when it ends; the
    // process exits first, and dropping the emulator aborts its server.
    if let Some(emulator) = emulator.and_then(|e| Arc::try_unwrap(e).ok()) {
        emulator.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// The operator's service: `serve.toml` with its environment overrides.
async fn from_config(
    path: &std::path::Path,
    components: &Components,
    out: &mut Out,
) -> anyhow::Result<Started> {
    let config = ServeConfig::load(path)?;
    let keys = Keys::from_config(&config.keys)?;
    if keys.is_empty() {
        return Err(connector_service::ConfigError {
            at: "keys".into(),
            message: "no key: every route but /healthz and /readyz needs one".into(),
        }
        .into());
    }
    let tls = match &config.tls {
        Some(tls) => Some(tls_acceptor(&tls.cert, &tls.key)?),
        None => None,
    };
    let all = Components {
        components: config
            .components
            .iter()
            .chain(&components.components)
            .cloned()
            .collect(),
    };
    let runtime = runtime(config.runtime_config()?, &all).await?;
    let service = Service::new(runtime, &config, keys)?;
    // An address in use (or not this host's) is the configuration's
    // mistake: the error names the key, as every other one does.
    let listener =
        TcpListener::bind(config.listen)
            .await
            .map_err(|e| connector_service::ConfigError {
                at: "listen".into(),
                message: format!("cannot listen on {} ({e})", config.listen),
            })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr()?);
    let connectors: Vec<String> = service
        .runtime()
        .connectors()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    out.line(json!({ "url": url, "connectors": connectors, "tenants": service.registry().len() }))?;
    Ok(Started {
        service,
        listener,
        tls,
        emulator: None,
    })
}

/// `--dev`: the emulator, a tenant connected to it, a fresh admin key.
async fn dev(port: u16, components: &Components, out: &mut Out) -> anyhow::Result<Started> {
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let runtime = runtime(RuntimeConfig::default(), components).await?;
    let seed = emulator.seed().clone();
    let tenant = connector_testkit::pingone_tenant(&runtime, &emulator, &seed, Limits::default());
    let key: String = (0..24)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let key = format!("dev-{key}");
    // Seed 002's step is served as the flow mfa-enrollment, its executions
    // kept in memory.
    let config = ServeConfig {
        listen: ([127, 0, 0, 1], port).into(),
        executions: connector_service::ExecutionsSection {
            steps: vec![connector_testkit::templates::flows_dir().join("steps/mfa-enrollment.json")],
            ..Default::default()
        },
        // The flow templates, for the playground's graphs and runs: the
        // folder `demo` and `flow run` load, checked the same way.
        flows: connector_service::FlowsSection {
            dir: Some(connector_testkit::templates::flows_dir()),
            ..Default::default()
        },
        ..ServeConfig::default()
    };
    let service = Service::new(runtime, &config, Keys::single("dev", &key, true, &["*"]))?;
    service.registry().insert(DEV_TENANT, tenant);
    let outbox = emulator.outbox_reader();
    service.set_dev_outbox(Box::new(move || {
        serde_json::to_value(outbox()).unwrap_or_default()
    }));
    // A run may ask the emulator's end user to answer its waits. The
    // service holds it weakly, so that the emulator is stopped gracefully
    // at the end unless a run still uses it.
    let emulator = Arc::new(emulator);
    let weak = Arc::downgrade(&emulator);
    service.set_dev_end_user(Box::new(move || -> Box<dyn BoxedDriver> {
        match weak.upgrade() {
            // The user's own log lines would carry the OTPs it read: the
            // run's steps show what it answered, and no log does.
            Some(emulator) => Box::new(EmulatorUser::shared(emulator, 1, |_: &str| {})),
            None => Box::new(Gone),
        }
    }));
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (--port): {e}", config.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    // The page takes the key from the fragment, which browsers never send,
    // and removes it from the address bar.
    let page = format!("{url}/#key={key}");
    let line: Value = json!({
        "url": url,
        "page": page,
        "apiKey": key,
        "tenant": DEV_TENANT,
        "emulator": emulator.startup_info(),
    });
    out.line(line)?;
    eprintln_quietly(format_args!(
        "connector-host serve --dev: {url} (tenant '{DEV_TENANT}', PingOne emulator at {}). \
         Playground: {page} . Ctrl-C to stop.",
        emulator.auth_url()
    ));
    Ok(Started {
        service,
        listener,
        tls: None,
        emulator: Some(emulator),
    })
}
