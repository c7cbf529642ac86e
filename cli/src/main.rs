//! The `connector-host` command line: list, describe and invoke the
//! capabilities of the embedded connectors (PingOne MFA, HTTP) and of any
//! component given with `--component`, run the PingOne emulator or the
//! demo flows, or serve them all over HTTP (`serve`).

mod flow;
mod inputs;
mod io;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand};
use connector_runtime::{Error, Limits, NetworkPolicy, OriginPattern, Runtime, RuntimeConfig};
use connector_testkit::{scenarios, templates};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

use inputs::{load_tenant, read_input};
use io::{is_broken_pipe, Out};

/// Run identity connectors (WebAssembly components) in a sandbox.
#[derive(Parser)]
#[command(name = "connector-host", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which connectors to load besides the embedded ones.
#[derive(clap::Args)]
struct Components {
    /// Load another connector component (.wasm); repeatable.
    #[arg(long = "component", value_name = "PATH.wasm")]
    components: Vec<PathBuf>,
}

/// Which capability: an id one loaded connector has, `connector/id`, or an
/// id with `--connector`.
#[derive(clap::Args)]
struct Which {
    /// Capability id, e.g. readDevice, or connector/id.
    capability: String,
    /// The connector the capability belongs to, when several have it.
    #[arg(long)]
    connector: Option<String>,
}

impl Which {
    fn name(&self) -> String {
        match &self.connector {
            Some(connector) => format!("{connector}/{}", self.capability),
            None => self.capability.clone(),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// List the capabilities of every loaded connector.
    List {
        /// Print the connectors and every capability as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        components: Components,
    },
    /// Show one capability with its input and output schemas.
    Describe {
        #[command(flatten)]
        which: Which,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        components: Components,
    },
    /// Invoke a capability; prints the output JSON, or a JSON error and exits non-zero.
    Invoke {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        components: Components,
        /// The input JSON, or @path to read it from a file (@- for stdin).
        #[arg(long)]
        input: String,
        /// The connection settings of the capability's connector (TOML, the
        /// keys of its settings schema); default: the environment variables
        /// its manifest names (PINGONE_* for PingOne MFA).
        #[arg(long, conflicts_with = "tenants")]
        tenant: Option<PathBuf>,
        /// Tenants file (TOML, see README) with several tenants and their limits.
        #[arg(long)]
        tenants: Option<PathBuf>,
        /// Which tenant of --tenants to invoke for (default: the only one).
        #[arg(long, requires = "tenants")]
        tenant_name: Option<String>,
        /// The --tenant file holds settings a tenant supplied, not the
        /// operator: every value is literal (no env:/file: references) and
        /// URL overrides must match a --tenant-origin.
        #[arg(long, requires = "tenant")]
        tenant_supplied: bool,
        /// An origin (scheme://host[:port], host may be *.domain) that
        /// tenant-supplied URL overrides may name; repeatable.
        #[arg(
            long = "tenant-origin",
            value_name = "ORIGIN",
            requires = "tenant_supplied"
        )]
        tenant_origins: Vec<OriginPattern>,
        /// An internal network (CIDR, e.g. 10.20.0.0/16) the host may
        /// connect to; repeatable. Without it only public addresses (and
        /// loopback, for the operator's own settings) are reached.
        #[arg(long = "allow-internal", value_name = "CIDR")]
        allow_internal: Vec<ipnet::IpNet>,
    },
    /// Run the PingOne emulator; the first stdout line is a JSON object describing it.
    Emulator {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Run flow definitions (flows/*.json) with the flow engine.
    Flow {
        #[command(subcommand)]
        command: flow::FlowCommand,
    },
    /// Serve every loaded connector over HTTP (see serve.example.toml, or --dev).
    Serve(serve::ServeArgs),
    /// Run the seed's flow templates (flows/*.json) against the embedded emulator.
    Demo {
        /// Run only this flow (its flowId).
        #[arg(long)]
        flow: Option<String>,
        /// The folder of flow definitions (default: the repository's flows/).
        #[arg(long, value_name = "DIR")]
        flows: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut out = Out::new();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version print as clap prints them, and exit 0.
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            init_logs(false);
            return report(&mut out, &cli_error(&e));
        }
    };
    init_logs(matches!(cli.command, Command::Serve(_)));
    match run(cli.command, &mut out).await {
        Ok(code) => code,
        // The reader went away (`| head -1`): nothing is left to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Every failure is one JSON object on stdout, so scripts parse
            // one format: the host's own errors keep their structure, the
            // CLI's (a file that cannot be read) are `cli`.
            let json = match (
                e.downcast_ref::<Error>(),
                e.downcast_ref::<connector_service::ConfigError>(),
                e.downcast_ref::<connector_flows::FlowError>(),
            ) {
                (Some(host), _, _) => host.to_json(),
                (None, Some(config), _) => serde_json::json!({ "error": {
                    "kind": "config", "field": config.at, "summary": one_line(&config.message),
                } }),
                (None, None, Some(flow)) => flow.to_json(),
                (None, None, None) => {
                    serde_json::json!({ "error": { "kind": "cli", "summary": one_line(&format!("{e:#}")) } })
                }
            };
            report(&mut out, &json)
        }
    }
}

/// Logs go to stderr: the service's JSON lines
/// ([`connector_service::logs`]), or the one-shot commands' text at `warn`.
/// `RUST_LOG` overrides the level either way.
fn init_logs(service: bool) {
    if service {
        let subscriber = connector_service::logs::json_subscriber(std::io::stderr);
        let _ = tracing::subscriber::set_global_default(subscriber);
        return;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Prints an error object and returns the failure exit code. When stdout
/// itself is the problem (a full disk), the object goes to stderr instead.
fn report(out: &mut Out, json: &serde_json::Value) -> ExitCode {
    let pretty = serde_json::to_string_pretty(json).unwrap_or_default();
    if out.line(&pretty).is_err() {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{json}");
    }
    ExitCode::FAILURE
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A command-line mistake as the CLI's error object: clap's first line as
/// the summary, the argument it is about and the usage line.
fn cli_error(e: &clap::Error) -> serde_json::Value {
    let rendered = e.render().to_string();
    let summary = rendered
        .lines()
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error:")
        .trim();
    let argument = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(argument)) => Some(argument.clone()),
        Some(ContextValue::Strings(arguments)) => Some(arguments.join(", ")),
        _ => None,
    };
    let summary = match (&argument, summary.strip_suffix(':')) {
        (Some(argument), Some(head)) => format!("{head}: {argument}"),
        _ => summary.to_owned(),
    };
    let mut error = serde_json::json!({ "kind": "cli", "summary": one_line(&summary) });
    if let Some(argument) = argument {
        error["argument"] = argument.into();
    }
    if let Some(usage) = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage:"))
    {
        error["usage"] = usage.trim().into();
    }
    serde_json::json!({ "error": error })
}

/// A runtime with the embedded connectors and any `--component`.
async fn runtime(config: RuntimeConfig, components: &Components) -> Result<Runtime, Error> {
    let runtime = Runtime::with_connectors(config, embedded_connectors::ALL).await?;
    for path in &components.components {
        runtime.load_file(path).await?;
    }
    Ok(runtime)
}

/// A capability as `describe --json` and `list --json` show it.
fn capability_json(cap: &connector_runtime::CapabilityInfo) -> Value {
    json!({
        "connector": cap.connector, "id": cap.id, "witFunction": cap.wit_function, "title": cap.title,
        "description": cap.description, "inputSchema": cap.input_schema, "outputSchema": cap.output_schema,
    })
}

async fn run(command: Command, out: &mut Out) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { json, components } => {
            let runtime = runtime(RuntimeConfig::default(), &components).await?;
            if json {
                let connectors: Vec<Value> = runtime
                    .connectors()
                    .iter()
                    .map(|c| {
                        let m = c.manifest();
                        json!({ "name": m.name, "version": m.version, "title": m.title,
                                "interface": m.interface, "settings": m.settings })
                    })
                    .collect();
                let capabilities: Vec<Value> =
                    runtime.capabilities().iter().map(capability_json).collect();
                let listed = json!({ "connectors": connectors, "capabilities": capabilities });
                out.line(serde_json::to_string_pretty(&listed)?)?;
            } else {
                for cap in runtime.capabilities() {
                    out.line(format_args!(
                        "{:<12} {:<34} {:<36} {}",
                        cap.connector, cap.id, cap.wit_function, cap.title
                    ))?;
                }
            }
        }
        Command::Describe {
            which,
            json,
            components,
        } => {
            let runtime = runtime(RuntimeConfig::default(), &components).await?;
            let cap = runtime.capability(&which.name())?;
            if json {
                out.line(serde_json::to_string_pretty(&capability_json(&cap))?)?;
            } else {
                out.line(format_args!(
                    "{} ({}/{})\n{}\n\nWIT function: {}\n",
                    cap.title, cap.connector, cap.id, cap.description, cap.wit_function
                ))?;
                out.line(format_args!(
                    "Input schema:\n{}\n",
                    serde_json::to_string_pretty(&cap.input_schema)?
                ))?;
                out.line(format_args!(
                    "Output schema:\n{}",
                    serde_json::to_string_pretty(&cap.output_schema)?
                ))?;
            }
        }
        Command::Invoke {
            which,
            components,
            input,
            tenant,
            tenants,
            tenant_name,
            tenant_supplied,
            tenant_origins,
            allow_internal,
        } => {
            let network = NetworkPolicy {
                allow_internal,
                tenant_origins,
            };
            let runtime = runtime(
                RuntimeConfig {
                    network,
                    ..RuntimeConfig::default()
                },
                &components,
            )
            .await?;
            let (connector, id) = runtime.resolve(&which.name())?;
            let tenant = load_tenant(
                &runtime,
                &connector,
                tenant,
                tenants,
                tenant_name,
                tenant_supplied,
            )
            .await?;
            let input = read_input(input, &id, tenant.limits()).await?;
            let output = connector.invoke(&tenant, &id, &input).await?;
            out.line(serde_json::to_string_pretty(&output)?)?;
        }
        Command::Emulator { port } => {
            let emulator = Emulator::start(EmulatorConfig {
                port,
                ..EmulatorConfig::default()
            })
            .await?;
            out.line(emulator.startup_info())?;
            eprintln_quietly(format_args!(
                "PingOne emulator listening on {} (Ctrl-C to stop)",
                emulator.auth_url()
            ));
            tokio::signal::ctrl_c().await?;
            emulator.shutdown().await;
        }
        Command::Serve(args) => return serve::run(args, out).await,
        Command::Flow { command } => return flow::run(command, out).await,
        Command::Demo { flow, flows } => {
            let scenarios: Vec<&scenarios::Scenario> = match &flow {
                Some(name) => vec![scenarios::scenario(name).ok_or_else(|| {
                    connector_flows::FlowError::UnknownFlow {
                        flow_id: format!(
                            "{name} (the demo runs: {})",
                            scenarios::SCENARIOS
                                .iter()
                                .map(|s| s.flow_id)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                })?],
                None => scenarios::SCENARIOS.iter().collect(),
            };
            let runtime = runtime(
                RuntimeConfig::default(),
                &Components {
                    components: Vec::new(),
                },
            )
            .await?;
            let dir = flows.unwrap_or_else(templates::flows_dir);
            let library = templates::library(&runtime, &dir)?;
            let emulator = Emulator::start(EmulatorConfig::default()).await?;
            let seed = emulator.seed().clone();
            let tenant =
                connector_testkit::pingone_tenant(&runtime, &emulator, &seed, Limits::default());
            out.line(format_args!(
                "PingOne emulator at {} (environment {}); flows from {}",
                emulator.auth_url(),
                seed.environment_id,
                dir.display()
            ))?;
            // Steps print as they happen; a closed stdout is noticed by
            // `out` at the next line it writes.
            let mut demo = scenarios::Demo::new(
                &emulator,
                std::sync::Arc::new(|line: &str| {
                    use std::io::Write;
                    let _ = writeln!(std::io::stdout().lock(), "  {line}");
                }),
            );
            for scenario in scenarios {
                let definition = library
                    .get(scenario.flow_id)
                    .expect("the library holds every scenario's flow");
                let user = &seed.users[scenario.user % seed.users.len()];
                out.line(format_args!(
                    "\n== {} ({}) for {} ({})",
                    definition.name, scenario.flow_id, user.username, user.id
                ))?;
                out.line(format_args!("   {}", definition.description))?;
                // The result node's step line shows the result.
                demo.run(scenario, &runtime, &tenant, &library).await?;
            }
            out.line(format_args!(
                "\n{} token request(s) for {} API call(s)",
                emulator.stats().token_requests,
                emulator.stats().api_requests
            ))?;
            drop(demo);
            emulator.shutdown().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A human note on stderr; a closed stderr is not worth failing for.
fn eprintln_quietly(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}
