//! The `orderdesk` command line, run as an operator would run it (on an SQLite file).

use std::io::Write;
use std::process::{Command, Stdio};

/// Run `orderdesk` on the database `db` with `args` (and `stdin`): whether it exited 0, and
/// everything it printed.
pub(crate) fn orderdesk(db: &str, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let (code, out) = orderdesk_code(db, args, stdin);
    (code == Some(0), out)
}

/// Run orderdesk; its exit code (`None` when a signal ended it) and its output.
fn orderdesk_code(db: &str, args: &[&str], stdin: Option<&str>) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orderdesk"))
        .arg("--database-url")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run orderdesk");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn operator_commands_work_on_a_fresh_database() {
    let path = std::env::temp_dir().join(format!("od_cli_{}.db", uuid::Uuid::new_v4().simple()));
    let db = format!("sqlite:{}", path.display());

    let (ok, out) = orderdesk(&db, &["demo"], None);
    assert!(ok, "{out}");
    assert!(
        out.contains("clerk") && out.contains("admin"),
        "demo prints its users: {out}"
    );
    let (ok, out) = orderdesk(&db, &["demo"], None);
    assert!(ok && out.contains("already loaded"), "{out}");

    let (ok, out) = orderdesk(&db, &["migrate", "status"], None);
    assert!(
        ok && out.contains("applied") && !out.contains("PENDING"),
        "{out}"
    );

    let (ok, out) = orderdesk(
        &db,
        &["user", "add", "Bob", "--role", "accountant"],
        Some("a long password\n"),
    );
    assert!(ok, "{out}");
    let (ok, out) = orderdesk(
        &db,
        &["user", "add", "bob", "--role", "clerk"],
        Some("a long password\n"),
    );
    assert!(!ok && out.contains("exists"), "{out}");
    let (ok, out) = orderdesk(
        &db,
        &["user", "add", "carol", "--role", "root"],
        Some("a long password\n"),
    );
    assert!(!ok && out.contains("not a role"), "{out}");
    let (ok, out) = orderdesk(
        &db,
        &["user", "add", "carol", "--role", "clerk"],
        Some("short\n"),
    );
    assert!(!ok && out.contains("at least 10"), "{out}");
    let (ok, out) = orderdesk(&db, &["user", "disable", "bob"], None);
    assert!(ok, "{out}");
    let (ok, out) = orderdesk(&db, &["user", "list"], None);
    assert!(
        ok && out
            .lines()
            .any(|l| l.starts_with("bob") && l.contains("disabled")),
        "{out}"
    );

    let (ok, out) = orderdesk(&db, &["check"], None);
    assert!(ok && out.contains("all invariants hold"), "{out}");
    let (ok, out) = orderdesk(&db, &["purge-keys", "--days", "1"], None);
    assert!(ok && out.contains("purged 0"), "{out}");

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn serve_refuses_a_postgres_schema_it_does_not_expect() {
    let Ok(admin) = std::env::var(crate::helpers::PG_ENV) else {
        assert!(
            std::env::var("CI").is_err(),
            "PostgreSQL tests may not be skipped under CI"
        );
        eprintln!(
            "SKIPPED: PostgreSQL test ({} is not set)",
            crate::helpers::PG_ENV
        );
        return;
    };
    let name = format!("od_cli_{}", uuid::Uuid::new_v4().simple());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(crate::helpers::create_pg_database(&admin, &name));
    let (ok, out) = orderdesk(&url, &["serve", "--bind", "127.0.0.1:0"], None);
    assert!(!ok && out.contains("orderdesk migrate run"), "{out}");
    let (ok, out) = orderdesk(&url, &["migrate", "run"], None);
    assert!(ok && out.contains("applied"), "{out}");
    let (ok, out) = orderdesk(&url, &["check"], None);
    assert!(ok, "{out}");
    rt.block_on(crate::helpers::drop_pg_database(&admin, &name));
}

#[test]
fn commands_that_only_read_never_create_a_database() {
    let dir =
        std::env::temp_dir().join(format!("od_cli_missing_{}", uuid::Uuid::new_v4().simple()));
    let path = dir.join("mistyped.db");
    let db = format!("sqlite:{}", path.display());
    for args in [
        &["check"][..],
        &["migrate", "status"],
        &["purge-keys"],
        &["user", "list"],
        &["api-token", "list"],
    ] {
        let (ok, out) = orderdesk(&db, args, None);
        assert!(!ok, "{args:?} on a missing file must fail: {out}");
        assert!(
            out.contains("there is no database file at") && out.contains("mistyped.db"),
            "{args:?} names the missing file: {out}"
        );
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }
    // An empty file is not an orderdesk database either: nothing is migrated into it.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, b"").unwrap();
    let (ok, out) = orderdesk(&db, &["check"], None);
    assert!(!ok && out.contains("migrate run"), "{out}");
    let (ok, out) = orderdesk(&db, &["user", "list"], None);
    assert!(!ok && out.contains("migrate run"), "still no schema: {out}");
    // `migrate run` is the command that creates and migrates one.
    let _ = std::fs::remove_file(&path);
    let (ok, out) = orderdesk(&db, &["migrate", "run"], None);
    assert!(ok, "{out}");
    let (ok, out) = orderdesk(&db, &["check"], None);
    assert!(ok && out.contains("all invariants hold"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_first_migrations_at_once_both_succeed() {
    for round in 0..6 {
        let path =
            std::env::temp_dir().join(format!("od_cli_race_{}.db", uuid::Uuid::new_v4().simple()));
        let db = format!("sqlite:{}", path.display());
        let start = || {
            Command::new(env!("CARGO_BIN_EXE_orderdesk"))
                .args(["--database-url", &db, "migrate", "run"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run orderdesk")
        };
        let (a, b) = (start(), start());
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (ok, out) = orderdesk(&db, &["check"], None);
        assert!(ok, "{out}");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

#[test]
fn connection_failures_name_their_cause_and_the_next_step() {
    // A port where nothing listens: not "timed out waiting for a lock".
    let (ok, out) = orderdesk(
        "postgres://orderdesk:s3cret@127.0.0.1:1/desk",
        &["check"],
        None,
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("cannot connect to PostgreSQL at 127.0.0.1:1") && !out.contains("lock"),
        "{out}"
    );
    assert!(
        out.contains("orderdesk:***@") && !out.contains("s3cret"),
        "password masked: {out}"
    );
    // A database that does not exist on a server that does.
    if let Ok(admin) = std::env::var(crate::helpers::PG_ENV) {
        let missing = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/od_no_such_{}", uuid::Uuid::new_v4().simple()),
            None => unreachable!("{admin}"),
        };
        let (ok, out) = orderdesk(&missing, &["check"], None);
        assert!(!ok && out.contains("create the database"), "{out}");
    }
    // SQLite: a directory that does not exist; a file that is not a database.
    let dir = std::env::temp_dir().join(format!("od_cli_conn_{}", uuid::Uuid::new_v4().simple()));
    let nested = dir.join("no").join("such").join("desk.db");
    let (ok, out) = orderdesk(
        &format!("sqlite:{}", nested.display()),
        &["migrate", "run"],
        None,
    );
    assert!(
        !ok && out.contains("does not exist") && out.contains("desk.db"),
        "{out}"
    );
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.db");
    std::fs::write(&junk, "this is a text file, not a database\n".repeat(200)).unwrap();
    let (ok, out) = orderdesk(&format!("sqlite:{}", junk.display()), &["check"], None);
    assert!(!ok && out.contains("not an SQLite database file"), "{out}");
    // A scheme orderdesk does not speak.
    let (ok, out) = orderdesk("mysql://root@127.0.0.1/desk", &["check"], None);
    assert!(
        !ok && out.contains("unsupported database URL scheme"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The status code of `GET path` on `addr`, over a plain connection.
pub(crate) fn status_of(addr: &str, path: &str) -> Option<u16> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn sigterm_drains_with_readyz_503_then_exits_cleanly() {
    let path =
        std::env::temp_dir().join(format!("od_cli_drain_{}.db", uuid::Uuid::new_v4().simple()));
    let db = format!("sqlite:{}", path.display());
    let args = ["--drain-seconds", "2", "--shutdown-timeout", "5"];
    let mut server = crate::served::Served::start(&db, &args);
    let addr = server.addr.clone();
    assert_eq!(status_of(&addr, "/readyz"), Some(200));

    server.terminate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Draining: not ready, yet still serving.
    assert_eq!(status_of(&addr, "/readyz"), Some(503));
    assert_eq!(status_of(&addr, "/healthz"), Some(200));
    assert_eq!(status_of(&addr, "/login"), Some(200));
    // Then it stops accepting and exits 0, saying what it waited for.
    let started = std::time::Instant::now();
    let status = server.wait();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    assert_eq!(status_of(&addr, "/healthz"), None, "the listener is closed");
    let log = server.log();
    assert!(
        log.contains("draining") && log.contains("requests in flight"),
        "{log}"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn a_backup_is_checked_refuses_to_overwrite_and_restores_to_a_working_desk() {
    let dir = std::env::temp_dir().join(format!("od_cli_backup_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let live = format!("sqlite:{}", dir.join("desk.db").display());
    let copy_path = dir.join("copy.db");
    let copy = copy_path.to_str().unwrap();
    let (ok, out) = orderdesk(&live, &["demo"], None);
    assert!(ok, "{out}");
    let (ok, out) = orderdesk(&live, &["backup", copy], None);
    assert!(ok && out.contains("all invariants hold"), "{out}");
    // Never over an existing file without --force.
    let (ok, out) = orderdesk(&live, &["backup", copy], None);
    assert!(!ok && out.contains("--force"), "{out}");
    let (ok, out) = orderdesk(&live, &["backup", copy, "--force"], None);
    assert!(ok, "{out}");
    // The copy is a working database: it checks, and its users and documents are there.
    let restored = format!("sqlite:{copy}");
    let (ok, out) = orderdesk(&restored, &["check"], None);
    assert!(ok && out.contains("all invariants hold"), "{out}");
    let (ok, out) = orderdesk(&restored, &["user", "list"], None);
    assert!(ok && out.contains("clerk"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// README "Exit codes": each cause of failure ends with its own code, so that a script or a
/// service manager can tell them apart without reading the message.
#[test]
fn each_kind_of_failure_has_its_documented_exit_code() {
    let dir = std::env::temp_dir().join(format!("od_cli_exit_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("desk.db");
    let db = format!("sqlite:{}", path.display());
    let expect = |code: i32, args: &[&str], db: &str, stdin: Option<&str>, says: &str| {
        let (got, out) = orderdesk_code(db, args, stdin);
        assert_eq!(got, Some(code), "{args:?}: {out}");
        assert!(out.contains(says), "{args:?} says {says:?}: {out}");
    };
    // 0: done; --help is an answer too.
    expect(0, &["--help"], &db, None, "Usage");
    expect(0, &["migrate", "run"], &db, None, "applied");
    // 2: usage, from clap and from values the command refuses.
    expect(
        2,
        &["no-such-command"],
        &db,
        None,
        "unrecognized subcommand",
    );
    expect(
        2,
        &["check", "--no-such-flag"],
        &db,
        None,
        "unexpected argument",
    );
    expect(
        2,
        &["user", "add", "carol", "--role", "root"],
        &db,
        Some("a long password\n"),
        "not a role",
    );
    expect(
        2,
        &["user", "add", "carol", "--role", "clerk"],
        &db,
        Some("short\n"),
        "at least 10",
    );
    // 1: could not do it, for a reason the message gives.
    expect(
        0,
        &["user", "add", "bob", "--role", "clerk"],
        &db,
        Some("a long password\n"),
        "added",
    );
    expect(
        1,
        &["user", "add", "bob", "--role", "clerk"],
        &db,
        Some("a long password\n"),
        "exists",
    );
    // 3: configuration.
    let missing = format!("sqlite:{}", dir.join("mistyped.db").display());
    expect(3, &["check"], &missing, None, "there is no database file");
    expect(
        3,
        &["check"],
        "mysql://root@127.0.0.1/desk",
        None,
        "unsupported database URL scheme",
    );
    expect(
        3,
        &["serve", "--timezone", "Mars/Olympus_Mons"],
        &db,
        None,
        "unknown time zone",
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    expect(
        3,
        &["serve", "--bind", &bind],
        &db,
        None,
        "cannot listen on",
    );
    drop(taken);
    // 4: the database cannot be reached or opened.
    expect(
        4,
        &["check"],
        "postgres://orderdesk@127.0.0.1:1/desk",
        None,
        "cannot connect",
    );
    let junk = dir.join("junk.db");
    std::fs::write(&junk, "not a database\n".repeat(200)).unwrap();
    expect(
        4,
        &["check"],
        &format!("sqlite:{}", junk.display()),
        None,
        "not an SQLite database file",
    );
    // 5: the schema is not this binary's.
    let empty = dir.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    expect(
        5,
        &["check"],
        &format!("sqlite:{}", empty.display()),
        None,
        "migrate run",
    );
    // 6: an invariant is violated (stock that its ledger does not explain).
    expect(0, &["demo"], &db, None, "clerk");
    expect(0, &["check"], &db, None, "all invariants hold");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
        sqlx::query("UPDATE products SET stock_on_hand = stock_on_hand + 1")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });
    expect(6, &["check"], &db, None, "VIOLATION");
    let _ = std::fs::remove_dir_all(&dir);
}
