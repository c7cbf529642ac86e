//! `connector-host flow run FILE --input JSON`: runs any flow definition
//! with the engine (`connector-flows`). The other `*.json` files of the
//! file's folder are its library, so its sub-flows resolve. The end user's
//! part is played by the embedded emulator (`--emulator`) or asked on the
//! terminal: each wait prints its request as one JSON line on stderr and
//! reads the answer as one line from stdin (JSON when it starts like an
//! object, an array or a string; otherwise the text itself, so an OTP such
//! as 012345 stays a string).

use std::path::PathBuf;
use std::process::ExitCode;

use connector_flows::{Driver, Engine, FlowError, FlowLibrary, WaitRequest};
use connector_runtime::{Limits, RuntimeConfig};
use connector_testkit::end_user::EmulatorUser;
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::inputs::{load_tenant, read_input};
use crate::io::Out;
use crate::{runtime, Components};

/// The connector a `--tenants` file's top-level settings connect to.
const DEFAULT_CONNECTOR: &str = "pingone-mfa";
/// The longest answer line read from stdin.
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// `flow`'s subcommands.
#[derive(clap::Subcommand)]
pub enum FlowCommand {
    /// Run a flow definition; prints the run (its result and every step) as JSON.
    Run(RunArgs),
}

/// `flow run`'s arguments.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The flow file (flows/*.json); the other .json files of its folder are its sub-flows.
    file: PathBuf,
    /// The flow's input JSON, or @path to read it from a file (@- for stdin).
    #[arg(long, default_value = "{}")]
    input: String,
    /// Run against the embedded PingOne emulator, which also plays the end
    /// user (reads the OTPs it sent, answers WebAuthn with a software key,
    /// approves on the phone).
    #[arg(long, conflicts_with = "tenants")]
    emulator: bool,
    /// Tenants file (TOML, see README); default: the PINGONE_* environment.
    #[arg(long)]
    tenants: Option<PathBuf>,
    /// Which tenant of --tenants (default: the only one).
    #[arg(long, requires = "tenants")]
    tenant_name: Option<String>,
    #[command(flatten)]
    components: Components,
}

/// Asks the terminal: the wait's request on stderr, the answer from stdin.
struct Terminal {
    lines: tokio::io::Lines<BufReader<tokio::io::Stdin>>,
}

impl Driver for Terminal {
    async fn answer(&mut self, request: &WaitRequest) -> Result<Value, String> {
        let shown = serde_json::to_string(request).map_err(|e| e.to_string())?;
        crate::eprintln_quietly(format_args!("{shown}"));
        crate::eprintln_quietly(format_args!("{} (one line on stdin)", request.prompt));
        let line = self
            .lines
            .next_line()
            .await
            .map_err(|e| format!("stdin: {e}"))?
            .ok_or("stdin ended before the answer")?;
        if line.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is longer than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        // JSON when it looks like an object, an array or a quoted string;
        // anything else (an OTP such as 012345, a name) is the text itself.
        let text = line.trim();
        if text.starts_with(['{', '[', '"']) {
            serde_json::from_str(text).map_err(|e| format!("the answer is not JSON: {e}"))
        } else {
            Ok(Value::String(text.to_owned()))
        }
    }
}

/// Runs `flow run`.
pub async fn run(command: FlowCommand, out: &mut Out) -> anyhow::Result<ExitCode> {
    let FlowCommand::Run(args) = command;
    let folder = args
        .file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let runtime = runtime(RuntimeConfig::default(), &args.components).await?;
    let mut library = FlowLibrary::new();
    let flow_id = library.add_file(&args.file)?;
    for path in std::fs::read_dir(&folder)?.filter_map(|e| e.ok().map(|e| e.path())) {
        let same = path.canonicalize().ok() == args.file.canonicalize().ok();
        if !same && path.extension().is_some_and(|x| x == "json") {
            library.add_file(&path)?;
        }
    }
    library.check(&runtime)?;
    let input_text = read_input(args.input, "flow input", &Limits::default()).await?;
    let input: Value = serde_json::from_str(&input_text).map_err(|e| FlowError::Input {
        flow_id: flow_id.clone(),
        pointer: String::new(),
        message: format!("not JSON (line {}, column {})", e.line(), e.column()),
    })?;
    let result = if args.emulator {
        let emulator = Emulator::start(EmulatorConfig::default()).await?;
        let seed = emulator.seed().clone();
        let tenant =
            connector_testkit::pingone_tenant(&runtime, &emulator, &seed, Limits::default());
        let mut user = EmulatorUser::new(&emulator, 1, |line: &str| {
            crate::eprintln_quietly(format_args!("{line}"))
        });
        let result = Engine::new(&runtime, &tenant, &library)
            .run(&flow_id, input, &mut user)
            .await;
        drop(user);
        emulator.shutdown().await;
        result
    } else {
        let connector = runtime
            .connector(DEFAULT_CONNECTOR)
            .ok_or_else(|| anyhow::anyhow!("the {DEFAULT_CONNECTOR} connector is not loaded"))?;
        let tenant = load_tenant(
            &runtime,
            &connector,
            None,
            args.tenants,
            args.tenant_name,
            false,
        )
        .await?;
        let mut terminal = Terminal {
            lines: BufReader::new(tokio::io::stdin()).lines(),
        };
        Engine::new(&runtime, &tenant, &library)
            .run(&flow_id, input, &mut terminal)
            .await
    };
    out.line(serde_json::to_string_pretty(&result?)?)?;
    Ok(ExitCode::SUCCESS)
}
