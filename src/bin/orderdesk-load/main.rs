//! `orderdesk-load`: drives running orderdesk servers like clerks' browsers do and measures
//! confirmations per second, latency percentiles, the duplicate (replay) path and the list
//! pages (orders, stock, invoices, the audit log) over large databases. After every
//! scenario it runs the invariant self-check and fails loudly on any violation.
//!
//! Test data is written straight into the database with set-based SQL (`orderdesk::db::bench`);
//! everything measured goes over HTTP: sign in, read the order page, take its form token, post
//! the form, follow the redirect.

mod client;
mod data;
mod scenarios;
mod search;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use data::{Bulk, Catalogue, Spread};
use orderdesk::db::{Db, DbOptions};
use orderdesk::domain::{Actor, NewPassword, Role, Username};
use scenarios::{audit, big, confirm, healthz, pages, replay, storm};

use client::Http;
use stats::Summary;

#[derive(Parser, Debug)]
#[command(
    name = "orderdesk-load",
    about = "Load generator and benchmark for orderdesk"
)]
struct Cli {
    /// Base URL of a running orderdesk server; repeat for several (requests go round-robin).
    #[arg(long = "server", required = true)]
    servers: Vec<String>,
    /// The database those servers use (for test data and the invariant check).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Concurrent clerks.
    #[arg(long, short = 'c', default_value_t = 16)]
    concurrency: usize,
    /// Products in the benchmark catalogue.
    #[arg(long, default_value_t = 10_000)]
    products: i64,
    /// A label for the results table (e.g. "postgres, 3 servers").
    #[arg(long, default_value = "")]
    label: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// N distinct draft orders of 3 lines over the catalogue, confirmed by C clerks.
    Confirm {
        #[arg(long, default_value_t = 2000)]
        orders: i64,
    },
    /// Every order contains the same product: all confirmations queue on one row.
    Hot {
        #[arg(long, default_value_t = 2000)]
        orders: i64,
    },
    /// Duplicates of an already-completed confirmation (the double-click path).
    Replay {
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
    },
    /// `GET /healthz` at the same concurrency: the HTTP ceiling the replay path is compared to.
    Healthz {
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
    },
    /// K identical concurrent submits per order over many orders: exactly one effect each.
    Storm {
        #[arg(long, default_value_t = 1000)]
        orders: i64,
        #[arg(long, default_value_t = 32)]
        k: usize,
    },
    /// Orders of many lines, confirmed one at a time.
    Big {
        #[arg(long, default_value_t = 5)]
        orders: i64,
        #[arg(long, default_value_t = 500)]
        lines: i64,
    },
    /// List pages with a large database: first page, a filtered page, a deep page.
    Pages {
        /// Orders in the database (topped up to this many).
        #[arg(long, default_value_t = 1_000_000)]
        orders: i64,
        /// Requests per page measured.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// The product picker's search (run with `--products 100000`): C clerks, one row per kind
    /// of text typed.
    Search {
        /// Requests per kind of text, C at a time.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
    },
    /// The audit log with a large history: first page, each filter, a week, a deep page.
    Audit {
        /// Events in the log (topped up to this many with synthetic ones).
        #[arg(long, default_value_t = 1_000_000)]
        events: i64,
        /// Requests per page measured, C at a time.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
}

/// The clerk the scenarios sign in as, and the accountant who reads the audit log (same password).
pub(crate) const USER: &str = "bench";
pub(crate) const ACCOUNTANT: &str = "bench-accountant";
pub(crate) const PASSWORD: &str = "bench password 1";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("orderdesk-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orderdesk-load: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) struct Ctx {
    db: Db,
    bulk: Bulk,
    http: Arc<Http>,
    concurrency: usize,
    catalogue: Catalogue,
    label: String,
}

async fn run(cli: Cli) -> Result<(), String> {
    let db = Db::connect(&DbOptions {
        url: cli.database_url.clone(),
        max_connections: 4,
        lock_wait: Duration::from_secs(30),
    })
    .await
    .map_err(|e| format!("database: {e}"))?;
    ensure_user(&db, USER, "Bench Clerk", Role::Clerk).await?;
    ensure_user(&db, ACCOUNTANT, "Bench Accountant", Role::Accountant).await?;
    let bulk = Bulk::connect(&cli.database_url)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let catalogue = bulk
        .bench_catalogue(cli.products, 1000, 1_000_000_000)
        .await
        .map_err(|e| e.to_string())?;
    let ctx = Ctx {
        db,
        bulk,
        http: Http::new(
            cli.servers
                .iter()
                .map(|s| s.trim_end_matches('/').to_string())
                .collect(),
        ),
        concurrency: cli.concurrency.max(1),
        catalogue,
        label: cli.label.clone(),
    };
    let (name, summary, note) = match cli.scenario {
        Scenario::Confirm { orders } => (
            "confirm",
            confirm(&ctx, orders, 3, Spread::Wide).await?,
            String::new(),
        ),
        Scenario::Hot { orders } => (
            "hot",
            confirm(&ctx, orders, 3, Spread::Hot).await?,
            String::new(),
        ),
        Scenario::Replay { requests } => ("replay", replay(&ctx, requests).await?, String::new()),
        Scenario::Healthz { requests } => {
            ("healthz", healthz(&ctx, requests).await?, String::new())
        }
        Scenario::Storm { orders, k } => storm(&ctx, orders, k).await?,
        Scenario::Big { orders, lines } => {
            let s = big(&ctx, orders, lines).await?;
            ("big", s, format!("{lines} lines per order, one at a time"))
        }
        Scenario::Pages { orders, requests } => return pages(&ctx, orders, requests).await,
        Scenario::Audit { events, requests } => return audit(&ctx, events, requests).await,
        Scenario::Search { requests } => return search::search(&ctx, requests).await,
    };
    check(&ctx.db).await?;
    print_row(&ctx, name, &summary, &note);
    Ok(())
}

/// Create the user `name` with [`PASSWORD`] unless it exists.
async fn ensure_user(db: &Db, name: &str, display: &str, role: Role) -> Result<(), String> {
    if db
        .find_user(name)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(());
    }
    let username = Username::parse(name).map_err(|e| e.to_string())?;
    let pw = NewPassword::parse(PASSWORD).map_err(|e| e.to_string())?;
    let by = Actor {
        username: "orderdesk-load".into(),
        ..Actor::command_line()
    };
    orderdesk::ops::add_user(db, &by, username, display, role, pw)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Fail loudly on any violated invariant.
pub(crate) async fn check(db: &Db) -> Result<(), String> {
    let violations = db.check_invariants().await.map_err(|e| e.to_string())?;
    if violations.is_empty() {
        eprintln!("check: all invariants hold");
        Ok(())
    } else {
        for v in &violations {
            eprintln!("VIOLATION: {}", v.0);
        }
        Err(format!("{} invariant violation(s)", violations.len()))
    }
}

pub(crate) fn print_row(ctx: &Ctx, name: &str, s: &Summary, note: &str) {
    println!(
        "| {name} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {note} |",
        ctx.label, ctx.concurrency, s.count, s.per_second, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
    );
}
