//! The `webqris` command line (design.md, "Command line contract"). Every command takes `--db` and
//! `--json`; with `--json` it prints one JSON object on stdout, and on failure `{"error": "…"}` with a
//! non-zero exit code.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use webqris_core::notification::trust::{self, Envelope, History, Trust};
use webqris_core::notification::{self, Notification, Verdict};
use webqris_core::qris;
use webqris_core::{SecretString, Timestamp};

use crate::account;
use crate::backup;
use crate::config::{Config, ConfigError};
use crate::db::{ApiTokenInfo, Db, MerchantId, NewAccountRole};
use crate::delivery;
use crate::merchant::{self, NewMerchant};
use crate::password::Passwords;

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
    /// SQLite database file, created on first use [default: ./data/webqris.db; env WEBQRIS_DB].
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// TOML configuration file (see the README for every key); `WEBQRIS_*` variables and flags override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
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
    /// Run the HTTP server (API, WebSockets, webhook delivery, expiry sweep).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080; env WEBQRIS_LISTEN].
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Manage merchants.
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Manage merchants' API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Operator credentials.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Dashboard accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Copy the database into FILE, consistently, while the server runs (SQLite's online backup).
    Backup {
        /// The backup file to write (replaced atomically if it exists).
        #[arg(long)]
        to: PathBuf,
    },
    /// Replace the database with a backup made by `webqris backup`; refused while a server holds it.
    /// The database it replaces is kept as `<db>.before-restore-<time>`.
    Restore {
        /// The backup file to restore.
        #[arg(long)]
        from: PathBuf,
    },
    /// Outbound webhooks.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Print the effective configuration (defaults, `--config` file, `WEBQRIS_*` environment and
    /// `--db`, as `serve` would use them), every key, passwords redacted.
    Config,
}

#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Send a merchant's webhooks again (after an outage of its receiver): every webhook queued in
    /// [--since, --until), whatever became of it, with its original `webhook-id` and body and a fresh
    /// signature. A running server sends them within `webhook.poll_secs`.
    Replay {
        /// Merchant id.
        #[arg(long)]
        merchant: i64,
        /// From this instant on (RFC 3339, e.g. 2026-03-09T10:00:00Z), when the webhook was queued.
        #[arg(long)]
        since: String,
        /// Before this instant (RFC 3339); default: up to now.
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Make a dashboard account; the password is read from the first line of stdin (so it never
    /// appears in the process list or shell history).
    Create {
        /// Login name (an email address).
        #[arg(long)]
        email: String,
        /// Make it an operator (sees and manages every merchant, invites accounts).
        #[arg(long)]
        operator: bool,
    },
}

#[derive(Debug, Subcommand)]
enum MerchantCommand {
    /// Create a merchant; prints its callback and webhook secrets (shown once).
    Create {
        /// Display name (shown in the forwarder's connection test).
        #[arg(long)]
        name: String,
        /// The merchant's static QRIS payload.
        #[arg(long)]
        qris: Option<String>,
        /// Where `payment.paid` webhooks are sent (http/https; internal addresses need
        /// webhook.allow_private_targets).
        #[arg(long)]
        webhook_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue an API token for a merchant (shown once).
    Create {
        /// Merchant id.
        #[arg(long)]
        merchant: i64,
        /// A sandbox token: its invoices are test invoices, paid only by
        /// `POST /api/payments/{invoiceId}/simulate`, never by real money.
        #[arg(long)]
        test: bool,
    },
    /// List a merchant's API tokens by prefix.
    List {
        /// Merchant id.
        #[arg(long)]
        merchant: i64,
    },
    /// Revoke a merchant's API token by its prefix.
    Revoke {
        /// Merchant id.
        #[arg(long)]
        merchant: i64,
        /// The token's display prefix (as `token create` and `token list` print it).
        #[arg(long)]
        prefix: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Operator tokens.
    Token {
        #[command(subcommand)]
        command: AdminTokenCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminTokenCommand {
    /// Issue an operator token, accepted by `/ws?token=` (shown once).
    Create,
    /// List operator tokens by prefix.
    List,
    /// Revoke an operator token by its prefix; a running server closes the sockets it opened within a
    /// second.
    Revoke {
        /// The token's display prefix (as `admin token create` and `admin token list` print it).
        #[arg(long)]
        prefix: String,
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
    /// Parse one notification as the server would. Besides the verdict, says whether it would pay a
    /// merchant that trusts no extra source and has learned no channel yet (`pays`, `trust_reason`).
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
        /// Android's `Notification.category` (`msg`, `email`, `call`…).
        #[arg(long)]
        category: Option<String>,
        /// Android's `Notification.EXTRA_TEMPLATE`.
        #[arg(long)]
        template: Option<String>,
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
        Command::Serve { listen } => run_serve(&cli.global, listen),
        Command::Merchant { command } => with_db(&cli.global, |db, config| {
            Box::pin(run_merchant(db, config, command))
        }),
        Command::Token { command } => with_db(&cli.global, |db, config| {
            Box::pin(run_token(db, config, command))
        }),
        Command::Admin { command } => with_db(&cli.global, |db, config| {
            Box::pin(run_admin(db, config, command))
        }),
        Command::Backup { to } => run_on_database(&cli.global, |config, busy| {
            backup::backup(&config.db, &to, busy)
        }),
        Command::Restore { from } => run_on_database(&cli.global, |config, busy| {
            backup::restore(&from, &config.db, config.clock.now(), busy)
        }),
        Command::Webhook { command } => with_db(&cli.global, |db, config| {
            Box::pin(run_webhook(db, config, command))
        }),
        Command::Config => match load_config(&cli.global).and_then(Config::validated) {
            Ok(config) => match serde_json::to_value(&config) {
                Ok(shown) => Outcome::ok(shown),
                Err(e) => error(format!("cannot render the configuration: {e}")),
            },
            Err(e) => error(e),
        },
        Command::Account { command } => {
            let AccountCommand::Create { email, operator } = &command;
            let role = if *operator {
                NewAccountRole::Operator
            } else {
                NewAccountRole::Member
            };
            let password = match read_password() {
                Ok(password) => password,
                Err(e) => return error(e),
            };
            let email = email.clone();
            with_db(&cli.global, move |db, config| {
                Box::pin(run_account_create(db, config, email, password, role))
            })
        }
    }
}

/// The first line of stdin, without its line ending.
fn read_password() -> Result<SecretString, String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err("no password on stdin: pipe it in, e.g. `printf %s \"$PASSWORD\" | webqris account create --email …`".to_owned());
    }
    Ok(SecretString::new(password))
}

async fn run_account_create(
    db: &Db,
    config: &Config,
    email: String,
    password: SecretString,
    role: NewAccountRole,
) -> Outcome {
    let passwords = Passwords::new(1);
    match account::create(db, &passwords, &email, password, role, config.clock.now()).await {
        Ok(created) => Outcome::ok(json!({
            "account_id": created.id.0,
            "email": created.email,
            "is_operator": created.is_operator,
        })),
        Err(e) => error(e),
    }
}

fn error(message: impl std::fmt::Display) -> Outcome {
    Outcome::failed(json!({"error": message.to_string()}))
}

/// Defaults, the `--config` file, `WEBQRIS_*` environment, then `--db`.
fn load_config(global: &GlobalArgs) -> Result<Config, ConfigError> {
    let mut config = Config::load(global.config.as_deref(), |name| std::env::var(name).ok())?;
    if let Some(db) = &global.db {
        config.db = db.clone();
    }
    Ok(config)
}

type CommandFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// The configuration of an administrative command, validated; its log shows warnings only.
fn admin_config(global: &GlobalArgs) -> Result<Config, ConfigError> {
    init_tracing("warn", false);
    load_config(global).and_then(Config::validated)
}

/// Loads the configuration, opens the database and runs an administrative command on a small runtime.
fn with_db(
    global: &GlobalArgs,
    command: impl for<'a> FnOnce(&'a Db, &'a Config) -> CommandFuture<'a>,
) -> Outcome {
    let config = match admin_config(global) {
        Ok(config) => config,
        Err(e) => return error(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return error(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        match Db::open(&config.db, &config.database) {
            Ok(db) => command(&db, &config).await,
            Err(e) => error(e),
        }
    })
}

async fn run_merchant(db: &Db, config: &Config, command: MerchantCommand) -> Outcome {
    match command {
        MerchantCommand::Create {
            name,
            qris,
            webhook_url,
        } => {
            let new = NewMerchant {
                name,
                qris,
                webhook_url,
            };
            let allow_private = config.webhook.allow_private_targets;
            match merchant::create(db, new, allow_private, config.clock.now()).await {
                Ok(created) => Outcome::ok(json!({
                    "merchant_id": created.merchant_id.0,
                    "name": created.name,
                    "callback_secret": created.callback_secret.expose(),
                    "webhook_secret": created.webhook_secret.expose(),
                })),
                Err(e) => error(e),
            }
        }
    }
}

async fn run_token(db: &Db, config: &Config, command: TokenCommand) -> Outcome {
    let now = config.clock.now();
    match command {
        TokenCommand::Create { merchant, test } => {
            match merchant::issue_api_token(db, MerchantId(merchant), test, now).await {
                Ok(issued) => {
                    let mut body = json!({
                        "token": issued.token.expose(),
                        "prefix": issued.prefix,
                    });
                    if test {
                        body["test"] = json!(true);
                    }
                    Outcome::ok(body)
                }
                Err(e) => error(e),
            }
        }
        TokenCommand::List { merchant } => {
            match merchant::api_tokens(db, MerchantId(merchant)).await {
                Ok(tokens) => Outcome::ok(tokens_json(&tokens)),
                Err(e) => error(e),
            }
        }
        TokenCommand::Revoke { merchant, prefix } => {
            match merchant::revoke_api_token(db, MerchantId(merchant), prefix.clone(), now).await {
                Ok(0) => error(format!(
                    "merchant {merchant} has no live API token with prefix {prefix:?}"
                )),
                Ok(revoked) => Outcome::ok(json!({"revoked": revoked})),
                Err(e) => error(e),
            }
        }
    }
}

async fn run_webhook(db: &Db, config: &Config, command: WebhookCommand) -> Outcome {
    match command {
        WebhookCommand::Replay {
            merchant,
            since,
            until,
        } => {
            let parse = |flag: &str, text: &str| {
                Timestamp::parse(text).map_err(|e| {
                    format!(
                        "--{flag} must be an RFC 3339 instant such as 2026-03-09T10:00:00Z: {e}"
                    )
                })
            };
            let since = match parse("since", &since) {
                Ok(since) => since,
                Err(e) => return error(e),
            };
            let until = match until.as_deref().map(|u| parse("until", u)).transpose() {
                Ok(until) => until,
                Err(e) => return error(e),
            };
            match delivery::replay(db, MerchantId(merchant), since, until, config.clock.now()).await
            {
                Ok(queued) => Outcome::ok(json!({"queued": queued})),
                Err(e) => error(e),
            }
        }
    }
}

/// `{"tokens": [{"prefix", "created_at", "revoked_at", "test"?}…]}`: API or operator tokens as listed
/// (`"test": true` marks a sandbox token; live tokens leave it out).
fn tokens_json(tokens: &[ApiTokenInfo]) -> Value {
    json!({
        "tokens": tokens.iter().map(|t| {
            let mut token = json!({
                "prefix": t.prefix,
                "created_at": t.created_at,
                "revoked_at": t.revoked_at,
            });
            if t.test {
                token["test"] = json!(true);
            }
            token
        }).collect::<Vec<_>>()
    })
}

async fn run_admin(db: &Db, config: &Config, command: AdminCommand) -> Outcome {
    match command {
        AdminCommand::Token {
            command: AdminTokenCommand::Create,
        } => match merchant::issue_operator_token(db, config.clock.now()).await {
            Ok(issued) => Outcome::ok(json!({"token": issued.token.expose()})),
            Err(e) => error(e),
        },
        AdminCommand::Token {
            command: AdminTokenCommand::List,
        } => match db.read(|c| c.operator_tokens()).await {
            Ok(tokens) => Outcome::ok(tokens_json(&tokens)),
            Err(e) => error(e),
        },
        AdminCommand::Token {
            command: AdminTokenCommand::Revoke { prefix },
        } => {
            let (now, lookup) = (config.clock.now(), prefix.clone());
            match db
                .write(move |tx| tx.revoke_operator_tokens(&lookup, now))
                .await
            {
                Ok(0) => error(format!("no live operator token has prefix {prefix:?}")),
                Ok(revoked) => Outcome::ok(json!({"revoked": revoked})),
                Err(e) => error(e),
            }
        }
    }
}

/// `webqris backup --to FILE` and `webqris restore --from FILE`: `command` on the configured database
/// with its busy timeout; its report is the answer.
fn run_on_database<R: serde::Serialize>(
    global: &GlobalArgs,
    command: impl FnOnce(&Config, Duration) -> Result<R, backup::BackupError>,
) -> Outcome {
    let config = match admin_config(global) {
        Ok(config) => config,
        Err(e) => return error(e),
    };
    let busy = Duration::from_millis(config.database.busy_timeout_ms);
    match command(&config, busy) {
        Ok(report) => Outcome::ok(json!(report)),
        Err(e) => error(e),
    }
}

/// `webqris serve`: configuration layers, logging, bind, then [`crate::run`] until SIGTERM or Ctrl-C.
fn run_serve(global: &GlobalArgs, listen: Option<SocketAddr>) -> Outcome {
    let config = match load_config(global) {
        Ok(mut config) => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            config
        }
        Err(e) => return error(e),
    };
    init_tracing(&config.log, config.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return error(format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        crate::run(config, listener, shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => Outcome::ok(json!({"stopped": true})),
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            error(e)
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C; relying on SIGTERM");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; relying on Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight work");
}

/// Logs to stderr (stdout is reserved for the command's JSON).
fn init_tracing(filter: &str, json_lines: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // A second initialisation (tests calling the CLI twice in one process) is harmless: keep the first.
    let _ = if json_lines {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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
            category,
            template,
        } => {
            let n = Notification {
                app: &app,
                title: &title,
                text: &text,
                big_text: big_text.as_deref(),
            };
            let verdict = notification::parse(&n);
            let envelope = Envelope {
                app: &app,
                title: &title,
                category: category.as_deref(),
                template: template.as_deref(),
                channel_id: None,
            };
            let decision = trust::decide(&envelope, &notification::read(&n), &History::default());
            let pays = decision == Trust::Trusted && matches!(verdict, Verdict::Incoming { .. });
            // The design.md contract's fields first; `pays` and `trust_reason` are additions.
            let mut body = json!(verdict);
            body["pays"] = json!(pays);
            body["trust_reason"] = json!(decision.reason());
            Outcome::ok(body)
        }
    }
}
