//! The `connector-host` command line: list, describe and invoke the PingOne
//! MFA connector's capabilities, run the emulator, or run the demo flows.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use connector_host::{
    demo, Runtime, RuntimeConfig, Secret, Tenant, TenantRegistry, TenantSettings,
};
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
        #[arg(long, conflicts_with = "tenants")]
        tenant: Option<PathBuf>,
        /// Tenants file (TOML, see README) with several tenants and their limits.
        #[arg(long)]
        tenants: Option<PathBuf>,
        /// Which tenant of --tenants to invoke for (default: the only one).
        #[arg(long, requires = "tenants")]
        tenant_name: Option<String>,
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
            // Every failure is one JSON object on stdout, so scripts parse
            // one format: the host's own errors keep their structure, the
            // CLI's (a file that cannot be read, bad arguments) are `cli`.
            let json = match e.downcast_ref::<connector_host::Error>() {
                Some(host) => host.to_json(),
                None => {
                    serde_json::json!({ "error": { "kind": "cli", "summary": format!("{e:#}") } })
                }
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
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
            tenants,
            tenant_name,
        } => {
            let input = match input.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
                }
                None => input,
            };
            let read = |path: &PathBuf| {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            };
            let tenant = match (tenant, tenants) {
                (Some(path), _) => Tenant::new(
                    toml::from_str::<TenantSettings>(&read(&path)?)
                        .with_context(|| format!("parsing {}", path.display()))?,
                )?,
                (None, Some(path)) => {
                    let registry = TenantRegistry::from_toml(&read(&path)?)?;
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
                (None, None) => Tenant::new(TenantSettings::from_env()?)?,
            };
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
            if let Some(name) = &flow {
                if !demo::FLOWS.iter().any(|f| f.0 == name) {
                    return Err(connector_host::Error::UnknownCapability {
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
                println!("\n== flow {name} for user {} ({})", user.username, user.id);
                println!("   {about}");
                let mut log = |line: &str| println!("  {line}");
                let mut ctx = demo::FlowContext {
                    runtime: &runtime,
                    tenant: &tenant,
                    emulator: &emulator,
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
