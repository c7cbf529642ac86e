//! The `connector-host` command line: list, describe and invoke the PingOne
//! MFA connector's capabilities, run the emulator, or run the demo flows.

mod io;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand};
use connector_host::{
    demo, Error, Limit, Limits, NetworkPolicy, OriginPattern, Runtime, RuntimeConfig, Secret,
    Tenant, TenantRegistry, TenantSettings,
};
use pingone_emulator::{Emulator, EmulatorConfig};

use io::{is_broken_pipe, read_bounded, Out, ReadFailure};

/// The largest `--tenant` file (one tenant's settings).
const TENANT_FILE_MAX: usize = 64 << 10;
/// The largest `--tenants` file.
const TENANTS_FILE_MAX: usize = 8 << 20;
/// How long reading a settings file may take (a FIFO, a slow pipe).
const SETTINGS_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Run the PingOne MFA connector (a WebAssembly component) in a sandbox.
#[derive(Parser)]
#[command(name = "connector-host", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the capabilities.
    List {
        /// Print the full manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one capability with its input and output schemas.
    Describe {
        /// Capability id, e.g. readDevice.
        capability: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Invoke a capability; prints the output JSON, or a JSON error and exits non-zero.
    Invoke {
        /// Capability id, e.g. readDevice.
        capability: String,
        /// The input JSON, or @path to read it from a file.
        #[arg(long)]
        input: String,
        /// Tenant settings file (TOML: environmentId, clientId, clientSecret, region, policyId, apiUrl, authUrl); default: PINGONE_* variables.
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
    /// Run the demo flows against the embedded emulator.
    Demo {
        /// Run only this flow.
        #[arg(long)]
        flow: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut out = Out::new();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version print as clap prints them, and exit 0.
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => return report(&mut out, &cli_error(&e)),
    };
    match run(cli.command, &mut out).await {
        Ok(code) => code,
        // The reader went away (`| head -1`): nothing is left to say.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Every failure is one JSON object on stdout, so scripts parse
            // one format: the host's own errors keep their structure, the
            // CLI's (a file that cannot be read) are `cli`.
            let json = match e.downcast_ref::<Error>() {
                Some(host) => host.to_json(),
                None => {
                    serde_json::json!({ "error": { "kind": "cli", "summary": one_line(&format!("{e:#}")) } })
                }
            };
            report(&mut out, &json)
        }
    }
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

/// A settings file's text, read within bounds; trouble is a tenant error
/// that names the file, never its contents.
async fn read_settings(path: &Path, max: usize, what: &str) -> Result<String, Error> {
    let bad = |message: String| Error::Tenant {
        field: what.into(),
        message: format!("{}: {message}", path.display()),
    };
    match read_bounded(path, max, SETTINGS_READ_TIMEOUT).await {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| bad("is not UTF-8 text".into())),
        Err(ReadFailure::TooLarge) => Err(bad(format!("is larger than {max} bytes"))),
        Err(ReadFailure::TimedOut) => Err(bad(format!(
            "could not be read within {} s",
            SETTINGS_READ_TIMEOUT.as_secs()
        ))),
        Err(ReadFailure::Io(e)) => Err(bad(format!("cannot be read ({})", e.kind()))),
    }
}

/// The `--input` text: inline, or `@path` / `@-` read within the tenant's
/// input limit and wall-clock time.
async fn read_input(input: String, capability: &str, limits: &Limits) -> anyhow::Result<String> {
    let Some(path) = input.strip_prefix('@') else {
        return Ok(input);
    };
    let max = limits.max_input_bytes;
    match read_bounded(Path::new(path), max, limits.wall_time).await {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("the input in {path} is not UTF-8 text")),
        Err(ReadFailure::TooLarge) => Err(Error::Limit {
            capability: capability.to_owned(),
            limit: Limit::InputSize,
            message: format!("the input in {path} is larger than {max} bytes (maxInputBytes)"),
        }
        .into()),
        Err(ReadFailure::TimedOut) => Err(anyhow::anyhow!(
            "reading the input from {path} did not finish within {} ms (wallTimeMs)",
            limits.wall_time.as_millis()
        )),
        Err(ReadFailure::Io(e)) => Err(anyhow::anyhow!("reading {path}: {e}")),
    }
}

/// The tenant `invoke` runs for: from `--tenant`, `--tenants` or the
/// `PINGONE_*` environment.
async fn load_tenant(
    tenant: Option<PathBuf>,
    tenants: Option<PathBuf>,
    tenant_name: Option<String>,
    supplied: Option<&NetworkPolicy>,
) -> anyhow::Result<Tenant> {
    Ok(match (tenant, tenants) {
        (Some(path), _) => {
            let text = read_settings(&path, TENANT_FILE_MAX, "tenant file").await?;
            let settings = TenantSettings::from_toml(&text)?;
            match supplied {
                Some(policy) => Tenant::from_tenant(settings, Limits::default(), policy)?,
                None => Tenant::from_operator(settings, Limits::default())?,
            }
        }
        (None, Some(path)) => {
            let text = read_settings(&path, TENANTS_FILE_MAX, "tenants file").await?;
            let registry = TenantRegistry::from_toml(&text)?;
            let names = registry.names();
            let name = match (tenant_name, names.as_slice()) {
                (Some(name), _) => name,
                (None, [only]) => only.clone(),
                (None, _) => anyhow::bail!(
                    "{} has several tenants ({}); choose one with --tenant-name",
                    path.display(),
                    names.join(", ")
                ),
            };
            registry.get(&name).ok_or_else(|| {
                anyhow::anyhow!(
                    "no tenant '{name}' in {} (known: {})",
                    path.display(),
                    names.join(", ")
                )
            })?
        }
        (None, None) => Tenant::from_operator(TenantSettings::from_env()?, Limits::default())?,
    })
}

async fn run(command: Command, out: &mut Out) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { json } => {
            let runtime = Runtime::new(RuntimeConfig::default()).await?;
            if json {
                out.line(serde_json::to_string_pretty(runtime.manifest())?)?;
            } else {
                for cap in runtime.capabilities() {
                    out.line(format_args!(
                        "{:<34} {:<36} {}",
                        cap.id, cap.wit_function, cap.title
                    ))?;
                }
            }
        }
        Command::Describe { capability, json } => {
            let runtime = Runtime::new(RuntimeConfig::default()).await?;
            let cap = runtime
                .capability(&capability)
                .ok_or_else(|| Error::UnknownCapability {
                    capability: capability.clone(),
                })?;
            if json {
                let value = serde_json::json!({
                    "id": cap.id, "witFunction": cap.wit_function, "title": cap.title,
                    "description": cap.description, "inputSchema": cap.input_schema, "outputSchema": cap.output_schema,
                });
                out.line(serde_json::to_string_pretty(&value)?)?;
            } else {
                out.line(format_args!(
                    "{} ({})\n{}\n\nWIT function: {}\n",
                    cap.title, cap.id, cap.description, cap.wit_function
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
            capability,
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
            let supplied = tenant_supplied.then_some(&network);
            let tenant = load_tenant(tenant, tenants, tenant_name, supplied).await?;
            let input = read_input(input, &capability, tenant.limits()).await?;
            let runtime = Runtime::new(RuntimeConfig {
                network,
                ..RuntimeConfig::default()
            })
            .await?;
            let output = runtime.invoke(&tenant, &capability, &input).await?;
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
        Command::Demo { flow } => {
            if let Some(name) = &flow {
                if !demo::FLOWS.iter().any(|f| f.0 == name) {
                    return Err(Error::UnknownCapability {
                        capability: format!(
                            "flow '{name}' (known: {})",
                            demo::FLOWS
                                .iter()
                                .map(|f| f.0)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                    .into());
                }
            }
            let emulator = Emulator::start(EmulatorConfig::default()).await?;
            let seed = emulator.seed().clone();
            let tenant = Tenant::from_operator(
                TenantSettings {
                    environment_id: seed.environment_id.clone(),
                    policy_id: seed.policy_id.clone(),
                    client_id: seed.client_id.clone(),
                    client_secret: Secret::new(seed.client_secret.clone()),
                    region: Default::default(),
                    api_url: Some(emulator.api_url()),
                    auth_url: Some(emulator.auth_url()),
                },
                Limits::default(),
            )?;
            let runtime = Runtime::new(RuntimeConfig::default()).await?;
            out.line(format_args!(
                "PingOne emulator at {} (environment {})",
                emulator.auth_url(),
                seed.environment_id
            ))?;
            let flows: Vec<(&str, &str)> = match &flow {
                Some(name) => demo::FLOWS
                    .iter()
                    .copied()
                    .filter(|f| f.0 == name)
                    .collect(),
                None => demo::FLOWS.to_vec(),
            };
            for (name, about) in flows {
                let user = &seed.users[demo::default_user(name) % seed.users.len()];
                out.line(format_args!(
                    "\n== flow {name} for user {} ({})",
                    user.username, user.id
                ))?;
                out.line(format_args!("   {about}"))?;
                let outcome = {
                    // A failed write is kept by `out` and reported below.
                    let mut log = |line: &str| {
                        let _ = out.line(format_args!("  {line}"));
                    };
                    let mut ctx = demo::FlowContext {
                        runtime: &runtime,
                        tenant: &tenant,
                        emulator: &emulator,
                        user_id: user.id.clone(),
                        log: &mut log,
                    };
                    demo::run(name, &mut ctx).await?
                };
                out.check()?;
                out.line(format_args!("  final state: {}", outcome.state))?;
            }
            out.line(format_args!(
                "\n{} token request(s) for {} API call(s)",
                emulator.stats().token_requests,
                emulator.stats().api_requests
            ))?;
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
