//! The `orderdesk` command line. Configuration comes from flags and environment only.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::db::migrate::SchemaState;
use crate::db::{Db, DbOptions};
use crate::domain::{Actor, NewPassword, Role, Username};
use crate::exit::{Exit, Failure};
use crate::ops;
use crate::server::{ServerConfig, ensure_schema};

#[derive(Parser, Debug)]
#[command(
    name = "orderdesk",
    version,
    about = "Order confirmation with exactly-once effects"
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    /// Log format: `text` or `json`.
    #[arg(
        long,
        env = "ORDERDESK_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// `sqlite:FILE` (created on first start) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite:orderdesk.db",
        global = true
    )]
    pub database_url: String,
    /// Database connections per server (PostgreSQL) or reader connections (SQLite).
    // 8 by default: with 16 clients confirming on a 2-core machine, a pool of 8 had the same
    // throughput as 16 and about half the p99 (38 against 77-85 ms; docs/BENCHMARKS.md):
    // requests beyond the pool wait their turn in it, in order, instead of as PostgreSQL
    // backends competing for the CPU and queueing on the same rows.
    #[arg(
        long,
        env = "ORDERDESK_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub max_connections: u32,
    /// How long a request waits for a lock, including a duplicate waiting for its original (ms).
    #[arg(
        long,
        env = "ORDERDESK_LOCK_WAIT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub lock_wait_ms: u64,
}

impl DbArgs {
    pub fn options(&self) -> DbOptions {
        DbOptions {
            url: self.database_url.clone(),
            max_connections: self.max_connections,
            lock_wait: Duration::from_millis(self.lock_wait_ms),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server.
    Serve(ServeArgs),
    /// Show or apply schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load demo customers, products and draft orders.
    Demo,
    /// Self-check: stock equals its ledger, invoice numbers gapless, one invoice per
    /// confirmed order. Exits non-zero on any violation.
    Check,
    /// Manage users: add (password from standard input), list, disable, set a password.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API tokens: add one for a user (printed once, alone on the last line), list,
    /// revoke.
    ApiToken {
        #[command(subcommand)]
        action: ApiTokenAction,
    },
    /// Copy an SQLite database to FILE while servers keep running (online and consistent),
    /// then check the copy. For PostgreSQL it prints the pg_dump command to use.
    Backup {
        /// Where to write the copy; an existing file is kept unless --force.
        file: std::path::PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Delete idempotency keys older than the retention period, in batches.
    PurgeKeys {
        /// Keep keys this many days.
        #[arg(long, env = "ORDERDESK_KEY_RETENTION_DAYS", default_value_t = 7)]
        days: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum MigrateAction {
    /// List applied and pending migrations.
    Status,
    /// Apply pending migrations.
    Run,
}

#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Add a user; the password is read from standard input, never from the command line.
    Add {
        /// Sign-in name (a-z, 0-9, '.', '_', '-').
        name: String,
        /// clerk, warehouse, accountant or admin.
        #[arg(long)]
        role: String,
        /// The person's name as shown on pages; defaults to the sign-in name.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
    /// Disable a user; their sessions end at once.
    Disable { name: String },
    /// Set a user's password (read from standard input); their sessions end.
    Password { name: String },
}

#[derive(Subcommand, Debug)]
pub enum ApiTokenAction {
    /// Create a token that acts as USER (with USER's role). The token is printed once, alone
    /// on the last line of standard output; only its hash is stored.
    Add {
        /// The user the token acts as.
        user: String,
        /// What the token is for ("web shop"), shown in lists.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id (from `api-token list`); it stops working on every server.
    Revoke { id: i64 },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ORDERDESK_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The currency of every amount (ISO code).
    #[arg(long, env = "ORDERDESK_CURRENCY", default_value = "EUR")]
    pub currency: String,
    /// The time zone pages show times in, an IANA name such as Europe/Vienna; times are stored
    /// in UTC whatever this says.
    #[arg(long, env = "ORDERDESK_TIMEZONE", default_value = "UTC")]
    pub timezone: String,
    /// Secret that signs form tokens; by default one is generated and kept in the database.
    #[arg(long, env = "ORDERDESK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Keep idempotency keys this many days (used by the purge).
    #[arg(long, env = "ORDERDESK_KEY_RETENTION_DAYS", default_value_t = 7)]
    pub key_retention_days: u32,
    /// Sign out after this many minutes without a request.
    #[arg(long, env = "ORDERDESK_SESSION_IDLE_MINUTES", default_value_t = 120)]
    pub session_idle_minutes: u64,
    /// Sign out this many hours after signing in, whatever happens.
    #[arg(long, env = "ORDERDESK_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u64,
    /// Mark the session cookie Secure: set this when users reach orderdesk over HTTPS.
    #[arg(long, env = "ORDERDESK_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Bearer token that lets a metrics scraper read /metrics without signing in.
    #[arg(long, env = "ORDERDESK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Requests per second one API token may send to this server (bursts of twice that); 0
    /// for no limit.
    #[arg(long, env = "ORDERDESK_API_RATE", default_value_t = 100)]
    pub api_rate: u32,
    /// On SIGTERM, answer /readyz with 503 for this many seconds while still serving, so that
    /// a load balancer moves traffic away before the listener closes.
    #[arg(long, env = "ORDERDESK_DRAIN_SECONDS", default_value_t = 5)]
    pub drain_seconds: u64,
    /// Answer a request that takes longer than this many seconds with "that took too long"
    /// (408); a confirmation already running finishes regardless.
    #[arg(long, env = "ORDERDESK_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// After the listener closed, wait at most this many seconds for requests in flight.
    #[arg(long, env = "ORDERDESK_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Load the demo data before serving (once: skipped when it is already there).
    #[arg(long)]
    pub demo: bool,
}

/// Entry point of the binary. How it ends is [`Exit`]'s to say (README "Exit codes").
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are answers, not errors.
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    init_logging(&cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("orderdesk: cannot start the runtime: {e}");
            return Exit::Failed.into();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(exit) => exit.into(),
        Err(failure) => {
            eprintln!("orderdesk: {}", failure.message);
            failure.exit.into()
        }
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn connect(args: &DbArgs) -> Result<Db, Failure> {
    Db::connect(&args.options()).await.map_err(|e| match e {
        // These already name the database and the next step.
        e @ (crate::db::DbError::Connect(_) | crate::db::DbError::UnsupportedUrl(_)) => e.into(),
        e => Failure::new(
            Exit::Unreachable,
            format!(
                "cannot open the database {}: {e}",
                crate::db::redact_url(&args.database_url)
            ),
        ),
    })
}

/// Connect to a database that must exist already: the commands that read or manage one
/// (`check`, `migrate status`, `user`, `api-token`, `purge-keys`) never create one. A mistyped
/// SQLite path is an error that names it, not a new empty database that "passes" a check.
async fn connect_existing(args: &DbArgs) -> Result<Db, Failure> {
    if let Some(path) = crate::db::sqlite_file(&args.database_url)
        && !path.exists()
    {
        return Err(Failure::config(format!(
            "there is no database file at {}: check --database-url (or DATABASE_URL); \
             `orderdesk migrate run` or `orderdesk serve` creates a new one",
            path.display()
        )));
    }
    connect(args).await
}

/// The schema must be this binary's: commands other than `serve`, `demo` and `migrate run`
/// never apply migrations.
async fn require_schema(db: &Db) -> Result<(), Failure> {
    match db.schema_state().await? {
        SchemaState::Current => Ok(()),
        SchemaState::Empty => Err(Failure::schema(
            "the database holds no orderdesk schema: run `orderdesk migrate run` first \
             (or check --database-url)",
        )),
        SchemaState::Pending(_) => Err(Failure::schema(
            "the database schema is not current: run `orderdesk migrate run` (see `orderdesk migrate status`)",
        )),
        SchemaState::Unknown(v) => Err(Failure::schema(format!(
            "the database has migrations this orderdesk does not know ({v:?}): it was written by a newer version"
        ))),
    }
}

async fn run(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Serve(args) => {
            // A misspelt zone stops the server before it touches anything.
            crate::domain::Zone::named(&args.timezone)
                .map_err(|e| Failure::config(e.to_string()))?;
            if args.demo {
                let db = connect(&cli.db).await?;
                ensure_schema(&db).await?;
                let summary = crate::demo::load_with_currency(&db, &args.currency)
                    .await
                    .map_err(|e| format!("demo data: {e}"))?;
                println!("{summary}");
                db.close().await;
            }
            let cfg = ServerConfig {
                bind: args.bind,
                currency: args.currency,
                timezone: args.timezone,
                secret: args.secret,
                key_retention: Duration::from_secs(u64::from(args.key_retention_days) * 86_400),
                session_idle: Duration::from_secs(args.session_idle_minutes.max(1) * 60),
                session_absolute: Duration::from_secs(args.session_hours.max(1) * 3600),
                secure_cookies: args.secure_cookies,
                metrics_token: args.metrics_token,
                api_rate: args.api_rate,
                request_timeout: Duration::from_secs(args.request_timeout.max(1)),
            };
            let shutdown = crate::server::Shutdown {
                drain: Duration::from_secs(args.drain_seconds),
                timeout: Duration::from_secs(args.shutdown_timeout),
            };
            crate::server::serve(cli.db.options(), cfg, shutdown).await?;
            Ok(Exit::Success)
        }
        Command::Migrate { action } => {
            let db = match action {
                MigrateAction::Run => connect(&cli.db).await?,
                MigrateAction::Status => connect_existing(&cli.db).await?,
            };
            if let MigrateAction::Run = action {
                db.migrate()
                    .await
                    .map_err(|e| format!("migration failed: {e}"))?;
                println!("migrations applied");
            }
            for m in db.migration_status().await.map_err(|e| e.to_string())? {
                println!(
                    "{:>14}  {:<8}  {}",
                    m.version,
                    if m.applied { "applied" } else { "PENDING" },
                    m.description
                );
            }
            Ok(Exit::Success)
        }
        Command::Demo => {
            let db = connect(&cli.db).await?;
            ensure_schema(&db).await?;
            let summary = crate::demo::load(&db)
                .await
                .map_err(|e| format!("demo data: {e}"))?;
            println!("{summary}");
            Ok(Exit::Success)
        }
        Command::Check => {
            let db = connect_existing(&cli.db).await?;
            require_schema(&db).await?;
            let violations = db.check_invariants().await.map_err(|e| e.to_string())?;
            if violations.is_empty() {
                println!("check: all invariants hold");
                Ok(Exit::Success)
            } else {
                for v in &violations {
                    println!("VIOLATION: {}", v.0);
                }
                println!("check: {} violation(s)", violations.len());
                Ok(Exit::Invariant)
            }
        }
        Command::User { action } => {
            let db = connect_existing(&cli.db).await?;
            require_schema(&db).await?;
            user_command(&db, action).await
        }
        Command::ApiToken { action } => {
            let db = connect_existing(&cli.db).await?;
            require_schema(&db).await?;
            api_token_command(&db, action).await
        }
        Command::Backup { file, force } => {
            let db = connect_existing(&cli.db).await?;
            require_schema(&db).await?;
            backup_command(&db, &cli.db, &file, force).await
        }
        Command::PurgeKeys { days } => {
            let db = connect_existing(&cli.db).await?;
            require_schema(&db).await?;
            let cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
            let n = db
                .purge_idempotency(cutoff, 10_000)
                .await
                .map_err(|e| e.to_string())?;
            println!("purged {n} idempotency key(s) older than {days} day(s)");
            Ok(Exit::Success)
        }
    }
}

/// `orderdesk backup FILE`: see README "Backup and restore".
async fn backup_command(
    db: &Db,
    args: &DbArgs,
    file: &std::path::Path,
    force: bool,
) -> Result<Exit, Failure> {
    if db.backend() == crate::db::Backend::Postgres {
        return Err(Failure::from(format!(
            "orderdesk backs up SQLite files only; for PostgreSQL use its own tools, for example:\n  \
             pg_dump --format=custom --file {} '{}'\n(restore with pg_restore into an empty database, \
             then run `orderdesk check`; see README \"Backup and restore\")",
            file.display(),
            crate::db::redact_url(&args.database_url)
        )));
    }
    if file.exists() {
        if !force {
            return Err(Failure::from(format!(
                "{} exists already: choose another name, or add --force to replace it",
                file.display()
            )));
        }
        std::fs::remove_file(file)
            .map_err(|e| format!("cannot replace {}: {e}", file.display()))?;
    }
    let source_size = crate::db::sqlite_file(&args.database_url)
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len());
    // Progress for large files: the copy's size against the source's, once a second.
    let watched = file.to_path_buf();
    let progress = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.tick().await;
        loop {
            every.tick().await;
            let written = std::fs::metadata(&watched).map_or(0, |m| m.len());
            eprintln!(
                "backup: {:.1} MB of about {:.1} MB written",
                written as f64 / 1e6,
                source_size as f64 / 1e6
            );
        }
    });
    let copied = db.backup_sqlite_to(file).await;
    progress.abort();
    copied.map_err(|e| format!("backup to {} failed: {e}", file.display()))?;
    // The copy must be a database that passes the same check as the original.
    let copy = DbArgs {
        database_url: format!("sqlite:{}", file.display()),
        ..args.clone()
    };
    let copy = connect_existing(&copy).await?;
    let violations = copy.check_invariants().await.map_err(|e| e.to_string())?;
    copy.close().await;
    if !violations.is_empty() {
        return Err(Failure::new(
            Exit::Invariant,
            format!(
                "the copy at {} does not pass `orderdesk check` ({} violations): do not rely on it",
                file.display(),
                violations.len()
            ),
        ));
    }
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    println!(
        "backup written to {} ({:.1} MB) and checked: all invariants hold",
        file.display(),
        size as f64 / 1e6
    );
    Ok(Exit::Success)
}

async fn user_command(db: &Db, action: UserAction) -> Result<Exit, Failure> {
    let parse_name =
        |n: &str| Username::parse(n).map_err(|e| Failure::usage(format!("{n:?}: {e}")));
    let operator = Actor::command_line();
    match action {
        UserAction::Add {
            name,
            role,
            display_name,
        } => {
            let username = parse_name(&name)?;
            let role = Role::parse(&role).ok_or_else(|| {
                Failure::usage(format!(
                    "{role:?} is not a role: clerk, warehouse, accountant or admin"
                ))
            })?;
            let password = read_password()?;
            let display = display_name.unwrap_or_else(|| username.to_string());
            ops::add_user(
                db,
                &operator,
                username.clone(),
                display.trim(),
                role,
                password,
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("user {username} added as {role}");
        }
        UserAction::List => {
            for u in db.list_users().await.map_err(|e| e.to_string())? {
                let state = if u.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                println!(
                    "{:<24} {:<11} {:<9} {}",
                    u.username, u.role, state, u.display_name
                );
            }
        }
        UserAction::Disable { name } => {
            let username = parse_name(&name)?;
            let user = db
                .find_user(username.as_str())
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no active user named {username}"))?;
            let action = ops::DisableUser {
                actor: operator,
                user_id: user.id,
            };
            let done = ops::run_once(db, action).await.map_err(|e| e.to_string())?;
            if !done.changed {
                return Err(format!("no active user named {username}").into());
            }
            println!("user {username} disabled; their sessions and API tokens ended");
        }
        UserAction::Password { name } => {
            let username = parse_name(&name)?;
            let password = read_password()?;
            let password_hash = crate::auth::hash_password(password)
                .await
                .map_err(|e| e.to_string())?;
            let action = ops::SetPassword {
                actor: operator,
                username: username.clone(),
                password_hash,
            };
            ops::run_once(db, action).await.map_err(|e| e.to_string())?;
            println!("password of {username} changed; their sessions ended");
        }
    }
    Ok(Exit::Success)
}

async fn api_token_command(db: &Db, action: ApiTokenAction) -> Result<Exit, Failure> {
    let operator = Actor::command_line();
    match action {
        ApiTokenAction::Add { user, label } => {
            let username =
                Username::parse(&user).map_err(|e| Failure::usage(format!("{user:?}: {e}")))?;
            let (secret, token_hash, hint) = crate::auth::new_api_token();
            let action = ops::CreateApiToken {
                actor: operator,
                username: username.clone(),
                label,
                token_hash,
                hint,
            };
            let created = ops::run_once(db, action).await.map_err(|e| e.to_string())?;
            println!(
                "API token {} created for {username}; it is shown only now, on the next line:",
                created.id
            );
            println!("{secret}");
        }
        ApiTokenAction::List => {
            let tokens = db.list_api_tokens().await.map_err(|e| e.to_string())?;
            if tokens.is_empty() {
                println!("no API tokens");
            }
            for t in tokens {
                let state = match t.revoked_at {
                    Some(_) => "revoked",
                    None => "active",
                };
                let used = t
                    .last_used_at
                    .map(crate::http::templates::datetime)
                    .unwrap_or_else(|| "never used".into());
                println!(
                    "{:>5}  {:<14} {:<20} {:<8} {:<22} {}",
                    t.id, t.hint, t.username, state, used, t.label
                );
            }
        }
        ApiTokenAction::Revoke { id } => {
            let action = ops::RevokeApiToken {
                actor: operator,
                token_id: id,
            };
            let changed = ops::run_once(db, action).await.map_err(|e| e.to_string())?;
            if changed {
                println!("API token {id} revoked; it no longer works on any server");
            } else {
                println!("API token {id} was revoked already; nothing changed");
            }
        }
    }
    Ok(Exit::Success)
}

/// The password from standard input (one line), never from argv where `ps` would show it.
fn read_password() -> Result<NewPassword, Failure> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (input is visible; pipe it in to avoid that): ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']);
    NewPassword::parse(password).map_err(|e| Failure::usage(e.to_string()))
}
