//! The `webqris` command line (design.md, "Command line contract"). Every command takes `--db` and
//! `--json`; with `--json` it prints one JSON object on stdout, and on failure `{"error": "…"}` with a
//! non-zero exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use webqris_core::notification::{self, Notification};
use webqris_core::qris;

/// Self-hosted QRIS payment confirmation (WebQRIS API v3.6 compatible).
#[derive(Debug, Parser)]
#[command(name = "webqris", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// SQLite database file (created on first use).
    #[arg(
        long,
        global = true,
        default_value = "./data/webqris.db",
        env = "WEBQRIS_DB"
    )]
    pub db: PathBuf,
    /// Print one machine-readable JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect and convert QRIS payloads.
    Qris {
        #[command(subcommand)]
        command: QrisCommand,
    },
    /// Parse e-wallet notifications.
    Notif {
        #[command(subcommand)]
        command: NotifCommand,
    },
}

#[derive(Debug, Subcommand)]
enum QrisCommand {
    /// Decode and check a payload.
    Decode {
        /// The QRIS payload text.
        payload: String,
    },
    /// Turn a static payload into a dynamic one with an amount.
    Dynamic {
        /// The static QRIS payload text.
        payload: String,
        /// Amount in Rupiah.
        #[arg(long)]
        amount: u64,
    },
}

#[derive(Debug, Subcommand)]
enum NotifCommand {
    /// Parse one notification as the server would.
    Parse {
        /// Android package name of the posting app.
        #[arg(long)]
        app: String,
        /// Notification title.
        #[arg(long, default_value = "")]
        title: String,
        /// Notification text.
        #[arg(long)]
        text: String,
        /// Big text, when the app sets one.
        #[arg(long)]
        big_text: Option<String>,
    },
}

/// What a command produced: the JSON to print and whether it counts as success.
struct Outcome {
    ok: bool,
    body: Value,
}

impl Outcome {
    fn ok(body: Value) -> Self {
        Self { ok: true, body }
    }

    fn failed(body: Value) -> Self {
        Self { ok: false, body }
    }
}

/// Parses the process arguments, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_output = cli.global.json;
    let outcome = run(cli);
    if json_output {
        println!("{}", outcome.body);
    } else {
        match serde_json::to_string_pretty(&outcome.body) {
            Ok(text) if outcome.ok => println!("{text}"),
            Ok(text) => eprintln!("{text}"),
            Err(e) => eprintln!("cannot render output: {e}"),
        }
    }
    if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Qris { command } => run_qris(command),
        Command::Notif { command } => run_notif(command),
    }
}

fn run_qris(command: QrisCommand) -> Outcome {
    match command {
        QrisCommand::Decode { payload } => match qris::parse(&payload) {
            Ok(parsed) => Outcome::ok(json!(parsed.summary())),
            Err(e) => Outcome::failed(json!({"valid": false, "error": e.to_string()})),
        },
        QrisCommand::Dynamic { payload, amount } => match qris::to_dynamic(&payload, amount) {
            Ok(dynamic) => Outcome::ok(json!({"payload": dynamic})),
            Err(e) => Outcome::failed(json!({"error": e.to_string()})),
        },
    }
}

fn run_notif(command: NotifCommand) -> Outcome {
    match command {
        NotifCommand::Parse {
            app,
            title,
            text,
            big_text,
        } => {
            let verdict = notification::parse(&Notification {
                app: &app,
                title: &title,
                text: &text,
                big_text: big_text.as_deref(),
            });
            Outcome::ok(json!(verdict))
        }
    }
}
