//! A backup taken while clerks confirm, restored the way README "Backup and restore" says, then
//! checked and used (issue 11), on both backends: `orderdesk backup` for SQLite, `pg_dump` and
//! `pg_restore` for PostgreSQL (both on the PATH in CI, where the test may not skip).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{Backend, Cleanup, PG_ENV, TestApp, create_pg_database};
use crate::load::{Load, assert_check_passes, confirm, drafts, invoices, sequence};
use crate::served::{Remote, Served};

/// Whether `pg_dump` and `pg_restore` run here; under CI they must.
fn pg_tools() -> bool {
    let runs = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let found = runs("pg_dump") && runs("pg_restore");
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "pg_dump and pg_restore must be on the PATH under CI"
        );
        eprintln!("SKIPPED: PostgreSQL backup test (no pg_dump or pg_restore on the PATH)");
    }
    found
}

fn run(command: &mut Command) {
    let out = command.output().expect("run a backup tool");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Back up the database at `url` into `dir`, as README says, while it is in use.
fn back_up(backend: Backend, url: &str, dir: &Path) -> PathBuf {
    match backend {
        Backend::Sqlite => {
            let file = dir.join("backup.db");
            let (ok, out) = crate::cli::orderdesk(url, &["backup", file.to_str().unwrap()], None);
            assert!(ok && out.contains("all invariants hold"), "{out}");
            file
        }
        Backend::Postgres => {
            let file = dir.join("desk.dump");
            run(Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(&file)
                .arg(url));
            file
        }
    }
}

/// Restore `copy` as README says, the servers being stopped; returns the URL to serve from
/// and what removes a new database afterwards.
async fn restore(app: &TestApp, copy: &Path, dir: &Path) -> (String, Option<Cleanup>) {
    match app.backend {
        Backend::Sqlite => {
            // Move the database away with its -wal and -shm files; the backup takes its place.
            let live = orderdesk::db::sqlite_file(&app.url).unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let from = PathBuf::from(format!("{}{suffix}", live.display()));
                if from.exists() {
                    std::fs::rename(&from, dir.join(format!("moved-away{suffix}"))).unwrap();
                }
            }
            std::fs::copy(copy, &live).unwrap();
            (app.url.clone(), None)
        }
        Backend::Postgres => {
            // An empty database, pg_restore into it, `migrate status` shows nothing pending.
            let admin = std::env::var(PG_ENV).unwrap();
            let name = format!("od_restored_{}", uuid::Uuid::new_v4().simple());
            let url = create_pg_database(&admin, &name).await;
            let cleanup = Cleanup::PostgresDb {
                admin_url: admin,
                name,
            };
            run(Command::new("pg_restore")
                .args(["--no-owner", "--dbname", &url])
                .arg(copy));
            let (ok, out) = crate::cli::orderdesk(&url, &["migrate", "status"], None);
            assert!(ok && !out.contains("PENDING"), "{out}");
            (url, Some(cleanup))
        }
    }
}

/// Back up while confirmations run; confirm a few more (the restore will lose them); restore;
/// `check`; re-issue the lost documents in the order they were issued, as README's rule says,
/// so each gets back its number; then a new confirmation takes the next number: no gap, no
/// repeat.
async fn backup_under_load_restore_check_and_number_on(app: TestApp) {
    if app.backend == Backend::Postgres && !pg_tools() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("od_backup_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let _dir = Cleanup::Dir(dir.clone());
    let (_, orders) = drafts(&app, 100).await;
    let (loaded, later) = orders.split_at(90);

    let mut server = Served::start(&app.url, &["--drain-seconds", "0"]);
    let clerk = Remote::new(&server.addr);
    clerk.sign_in("clerk").await;
    let load = Load::start(&clerk, loaded, 4);
    load.wait_until(|answered, _| answered >= 5).await;
    let before = load.answered();
    let (backend, url, at) = (app.backend, app.url.clone(), dir.clone());
    let copy = tokio::task::spawn_blocking(move || back_up(backend, &url, &at))
        .await
        .unwrap();
    let during = load.answered() - before;
    let sent = load.finish().await;
    eprintln!(
        "{during} confirmations answered while the backup ran; {} sent in all",
        sent.len()
    );
    // Issued after the backup for certain: what the restore loses.
    for &order in &later[..3] {
        confirm(&clerk, order).await;
    }
    server.terminate();
    assert!(server.wait().success(), "{}", server.log());
    let live = invoices(&app.url).await;

    // README: stop every server (this test's own connections too), restore, check.
    app.db.close().await;
    let (restored_url, _restored) = restore(&app, &copy, &dir).await;
    assert_check_passes(&restored_url);
    let restored = invoices(&restored_url).await;
    for (order, number) in &restored {
        assert_eq!(live.get(order), Some(number), "order {order} in the copy");
    }
    let copied = restored.len() as u64;
    let mut lost: Vec<(i64, String)> = live
        .iter()
        .filter(|(order, _)| !restored.contains_key(order))
        .map(|(order, number)| (*order, number.clone()))
        .collect();
    lost.sort_by_key(|(_, number)| sequence(number));
    assert!(lost.len() >= 3, "the three confirmed after the backup");
    let lost_numbers: Vec<u64> = lost.iter().map(|(_, n)| sequence(n)).collect();
    let after_copy: Vec<u64> = (copied + 1..=live.len() as u64).collect();
    assert_eq!(
        lost_numbers, after_copy,
        "the copy ends where the lost ones begin"
    );

    // Re-issue the lost documents first, in the order they were issued: same numbers again.
    let server = Served::start(&restored_url, &[]);
    let clerk = clerk.at(&server.addr);
    clerk.sign_in("clerk").await;
    for (order, number) in &lost {
        assert_eq!(&confirm(&clerk, *order).await, number, "order {order}");
    }
    // Then numbering goes on from there.
    let next = confirm(&clerk, later[3]).await;
    assert_eq!(sequence(&next), live.len() as u64 + 1);
    let mut all: Vec<u64> = invoices(&restored_url)
        .await
        .values()
        .map(|n| sequence(n))
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=live.len() as u64 + 1).collect::<Vec<_>>());
    assert_check_passes(&restored_url);
}

crate::helpers::db_test!(
    backup_under_load,
    backup_under_load_restore_check_and_number_on
);
