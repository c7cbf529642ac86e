//! The `connector-host` command line: list, describe and invoke the PingOne
//! MFA connector's capabilities, run the emulator, or run the demo flows.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use connector_host::{demo, Runtime, RuntimeConfig, Secret, Tenant, TenantSettings};
use pingone_emulator::{Emulator, EmulatorConfig};

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
        #[arg(long)]
        tenant: Option<PathBuf>,
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
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            // Host errors print as structured JSON; anything else as text.
            match e.downcast_ref::<connector_host::Error>() {
                Some(host) => println!(
                    "{}",
                    serde_json::to_string_pretty(&host.to_json()).unwrap_or_default()
                ),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { json } => {
            let runtime = Runtime::new(RuntimeConfig::default()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(runtime.manifest())?);
            } else {
                for cap in runtime.capabilities() {
                    println!("{:<34} {:<36} {}", cap.id, cap.wit_function, cap.title);
                }
            }
        }
        Command::Describe { capability, json } => {
            let runtime = Runtime::new(RuntimeConfig::default()).await?;
            let cap = runtime.capability(&capability).ok_or_else(|| {
                connector_host::Error::UnknownCapability {
                    capability: capability.clone(),
                }
            })?;
            if json {
                let value = serde_json::json!({
                    "id": cap.id, "witFunction": cap.wit_function, "title": cap.title,
                    "description": cap.description, "inputSchema": cap.input_schema, "outputSchema": cap.output_schema,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!(
                    "{} ({})\n{}\n\nWIT function: {}\n",
                    cap.title, cap.id, cap.description, cap.wit_function
                );
                println!(
                    "Input schema:\n{}\n",
                    serde_json::to_string_pretty(&cap.input_schema)?
                );
                println!(
                    "Output schema:\n{}",
                    serde_json::to_string_pretty(&cap.output_schema)?
                );
            }
        }
        Command::Invoke {
            capability,
            input,
            tenant,
        } => {
            let input = match input.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
                }
                None => input,
            };
            let settings = match tenant {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    toml::from_str::<TenantSettings>(&text)
                        .with_context(|| format!("parsing {}", path.display()))?
                }
                None => TenantSettings::from_env()?,
            };
            let tenant = Tenant::new(settings)?;
            let runtime = Runtime::new(RuntimeConfig::default()).await?;
            let output = runtime.invoke(&tenant, &capability, &input).await?;
            println!("{}", serde_json::to_string_pretty(&output)?);
        }
        Command::Emulator { port } => {
            let emulator = Emulator::start(EmulatorConfig {
                port,
                ..EmulatorConfig::default()
            })
            .await?;
            let mut stdout = std::io::stdout();
            writeln!(stdout, "{}", emulator.startup_info())?;
            stdout.flush()?;
            eprintln!(
                "PingOne emulator listening on {} (Ctrl-C to stop)",
                emulator.auth_url()
            );
            tokio::signal::ctrl_c().await?;
            emulator.shutdown().await;
        }
        Command::Demo { flow } => {
            let emulator = Emulator::start(EmulatorConfig::default()).await?;
            let seed = emulator.seed().clone();
            let tenant = Tenant::new(TenantSettings {
                environment_id: seed.environment_id.clone(),
                policy_id: seed.policy_id.clone(),
                client_id: seed.client_id.clone(),
                client_secret: Secret::new(seed.client_secret.clone()),
                region: Default::default(),
                api_url: Some(emulator.api_url()),
                auth_url: Some(emulator.auth_url()),
            })?;
            let runtime = Runtime::new(RuntimeConfig::default()).await?;
            println!(
                "PingOne emulator at {} (environment {})",
                emulator.auth_url(),
                seed.environment_id
            );
            let flows: Vec<&str> = match &flow {
                Some(name) => vec![name.as_str()],
                None => demo::FLOWS.iter().map(|f| f.0).collect(),
            };
            for (i, name) in flows.iter().enumerate() {
                let user = &seed.users[i % seed.users.len()];
                println!("\n== flow {name} for user {} ({})", user.username, user.id);
                let mut log = |line: &str| println!("  {line}");
                let mut ctx = demo::FlowContext {
                    runtime: &runtime,
                    tenant: &tenant,
                    user_id: user.id.clone(),
                    log: &mut log,
                };
                let outcome = demo::run(name, &mut ctx).await?;
                println!("  final state: {}", outcome.state);
            }
            println!(
                "\n{} token request(s) for {} API call(s)",
                emulator.stats().token_requests,
                emulator.stats().api_requests
            );
            emulator.shutdown().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
