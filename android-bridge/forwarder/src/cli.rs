//! `webqris-forward`, the forwarder's host command (design.md, "Command line contract"): replays
//! notifications from JSON lines through the same filter, outbox and delivery as the phone, or drains what
//! is still queued, and prints `{"queued","delivered","pending","skipped"}`. It keeps delivering through
//! refusals, server errors and an unreachable server until its `--timeout`; a refusal still in force at
//! the end fails the command with its `error`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};
use webqris_core::Timestamp;

use crate::config::Config;
use crate::forwarder::Forwarder;
use crate::notification::{Incoming, Submitted};
use crate::status::ProblemKind;

/// The outbox file inside `--state DIR`.
pub const OUTBOX_FILE: &str = "outbox.db";
/// Longest replay input accepted (a tester's file, not a data set).
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Forward e-wallet notifications to a webqris server, as the Android app does.
#[derive(Debug, Parser)]
#[command(name = "webqris-forward", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The server's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, global = true, env = "WEBQRIS_FORWARD_SERVER")]
    pub server: Option<String>,
    /// The merchant's callback secret.
    #[arg(
        long,
        global = true,
        env = "WEBQRIS_FORWARD_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// Directory holding the outbox (created if missing); it survives between runs.
    #[arg(long, global = true)]
    pub state: Option<PathBuf>,
    /// Sent as `device_id`.
    #[arg(long, global = true, default_value = "webqris-forward")]
    pub device_id: String,
    /// Read only this app's notifications (repeatable); default: every app.
    #[arg(long = "app", global = true, value_name = "PACKAGE")]
    pub apps: Vec<String>,
    /// Accepted for older scripts; every notification of the read apps is sent now.
    #[arg(long, global = true, hide = true)]
    pub send_all: bool,
    /// Print one machine-readable JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay notifications from a JSON-lines file (`-` for stdin) and wait for delivery.
    Replay {
        /// `{"app","title","text","big_text"?,"post_time_ms"?,"key"?,"category"?,"template"?,"channel_id"?}`
        /// per line.
        file: String,
        /// Seconds to wait for the outbox to drain.
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
    },
    /// Deliver what is still queued and wait for it.
    Drain {
        /// Seconds to wait for the outbox to drain.
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
    },
}

/// One input line of `replay`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayLine {
    app: String,
    #[serde(default)]
    title: String,
    text: String,
    #[serde(default)]
    big_text: Option<String>,
    #[serde(default)]
    post_time_ms: Option<i64>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
}

/// A failure of the command, with what and where.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A required option is missing.
    #[error("missing --{0}")]
    Missing(&'static str),
    /// The input could not be read.
    #[error("cannot read {source_name}: {detail}")]
    Input {
        /// File name or `stdin`.
        source_name: String,
        /// What failed.
        detail: String,
    },
    /// A line is not a notification.
    #[error("{source_name} line {line}: {detail}")]
    Line {
        /// File name or `stdin`.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        detail: String,
    },
    /// The state directory cannot be used.
    #[error("state directory {path}: {detail}")]
    State {
        /// The directory.
        path: String,
        /// What failed.
        detail: String,
    },
    /// The forwarder failed.
    #[error(transparent)]
    Forwarder(#[from] crate::Error),
    /// A bad `--timeout`.
    #[error("--timeout must be a number of seconds ≥ 0, got {0}")]
    Timeout(f64),
}

/// What a run produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Notifications put in the outbox by this run.
    pub queued: u64,
    /// Final server answers received during this run.
    pub delivered: u64,
    /// Items still in the outbox at the end.
    pub pending: u64,
    /// Input lines not queued (app not read, already seen, empty).
    pub skipped: u64,
}

impl Summary {
    fn to_json(self) -> Value {
        json!({
            "queued": self.queued,
            "delivered": self.delivered,
            "pending": self.pending,
            "skipped": self.skipped,
        })
    }
}

/// Parses the process arguments, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    crate::logging::init_stderr();
    let cli = Cli::parse();
    let json_output = cli.global.json;
    let (ok, body) = match run(cli) {
        Ok((summary, None)) => (true, summary.to_json()),
        Ok((summary, Some(config_error))) => {
            let mut body = summary.to_json();
            body["error"] = Value::String(config_error);
            (false, body)
        }
        Err(e) => (false, json!({"error": e.to_string()})),
    };
    if json_output {
        println!("{body}");
    } else if ok {
        println!(
            "queued {} delivered {} pending {} skipped {}",
            body["queued"], body["delivered"], body["pending"], body["skipped"]
        );
    } else {
        eprintln!(
            "webqris-forward: {}",
            body["error"].as_str().unwrap_or("failed")
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs a parsed command: the summary, and the refusal still in force at the end, if any.
pub fn run(cli: Cli) -> Result<(Summary, Option<String>), CliError> {
    let g = &cli.global;
    let server = g.server.clone().ok_or(CliError::Missing("server"))?;
    let secret = g.secret.clone().ok_or(CliError::Missing("secret"))?;
    let state = g.state.clone().ok_or(CliError::Missing("state"))?;
    let (lines, timeout) = match &cli.command {
        Command::Replay { file, timeout } => (Some(read_lines(file)?), *timeout),
        Command::Drain { timeout } => (None, *timeout),
    };
    if !timeout.is_finite() || timeout < 0.0 {
        return Err(CliError::Timeout(timeout));
    }
    let database = prepare_state(&state)?;
    let forwarder = Forwarder::open(Config {
        device_id: g.device_id.clone(),
        enabled_apps: (!g.apps.is_empty()).then(|| g.apps.clone()),
        // A person is waiting: a short schedule (0.5 s doubling to 5 s).
        retry_base: Duration::from_millis(500),
        retry_cap: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        ..Config::new(server, secret, database)
    })?;
    let mut summary = Summary::default();
    for notification in lines.iter().flatten() {
        match forwarder.submit(notification)? {
            Submitted::Queued { .. } => summary.queued += 1,
            _ => summary.skipped += 1,
        }
    }
    let drained =
        forwarder.wait_until_drained(Duration::try_from_secs_f64(timeout).unwrap_or(Duration::MAX));
    summary.pending = drained.pending;
    summary.delivered = forwarder.status()?.delivered_since_start;
    forwarder.shutdown();
    let refusal = drained
        .problem
        .filter(|p| p.kind == ProblemKind::Refused)
        .map(|p| p.message);
    Ok((summary, refusal))
}

fn prepare_state(state: &Path) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(state).map_err(|e| CliError::State {
        path: state.display().to_string(),
        detail: e.to_string(),
    })?;
    Ok(state.join(OUTBOX_FILE))
}

/// Reads and checks every line before anything is queued: a bad file queues nothing.
fn read_lines(file: &str) -> Result<Vec<Incoming>, CliError> {
    let source_name = if file == "-" { "stdin" } else { file }.to_owned();
    let input_error = |detail: String| CliError::Input {
        source_name: source_name.clone(),
        detail,
    };
    let reader: Box<dyn Read> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).map_err(|e| input_error(e.to_string()))?)
    };
    let mut limited = BufReader::new(reader.take(MAX_INPUT_BYTES + 1));
    let started = Timestamp::now().as_millis();
    let mut out = Vec::new();
    let mut read = 0_u64;
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = limited
            .read_line(&mut line)
            .map_err(|e| input_error(e.to_string()))?;
        if n == 0 {
            break;
        }
        number += 1;
        read += n as u64;
        if read > MAX_INPUT_BYTES {
            return Err(input_error(format!("larger than {MAX_INPUT_BYTES} bytes")));
        }
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ReplayLine = serde_json::from_str(line.trim()).map_err(|e| CliError::Line {
            source_name: source_name.clone(),
            line: number,
            detail: e.to_string(),
        })?;
        if parsed.app.trim().is_empty() {
            return Err(CliError::Line {
                source_name: source_name.clone(),
                line: number,
                detail: "empty app".into(),
            });
        }
        out.push(Incoming {
            app: parsed.app,
            title: parsed.title,
            text: parsed.text,
            big_text: parsed.big_text,
            key: parsed.key.unwrap_or_default(),
            // Lines without a post time are distinct postings of this replay.
            post_time_ms: parsed
                .post_time_ms
                .unwrap_or(started.saturating_add(number as i64)),
            category: parsed.category,
            template: parsed.template,
            channel_id: parsed.channel_id,
        });
    }
    Ok(out)
}
