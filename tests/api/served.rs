//! A real `orderdesk serve` process on a loopback port, and a client that talks to it over
//! HTTP as a clerk's browser does (session cookie, forms, redirects not followed). For the
//! tests that kill, stop or starve a server: the in-process [`Browser`](crate::helpers::Browser)
//! cannot be killed mid-request.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::helpers::{Page, password_of};

/// A server process; killed when dropped. Its log (standard error) goes to a file, so that a
/// busy server never blocks on a full pipe and a failing test can show what it said.
pub struct Served {
    child: Child,
    /// `127.0.0.1:PORT`, as the server printed it.
    pub addr: String,
    log: PathBuf,
    /// Held open: the server may print to it.
    _stdout: std::io::BufReader<ChildStdout>,
}

impl Served {
    /// Start `orderdesk serve` on `url` with `args` added, and wait until `/readyz` is 200.
    pub fn start(url: &str, args: &[&str]) -> Served {
        let log = std::env::temp_dir().join(format!("od_served_{}.log", uuid::Uuid::new_v4()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_orderdesk"))
            .args(["--database-url", url, "--max-connections", "4"])
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("run orderdesk serve");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut addr = None;
        let mut line = String::new();
        while addr.is_none() && stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
            addr = line
                .split("http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .map(str::to_string);
            line.clear();
        }
        let mut served = Served {
            child,
            addr: String::new(),
            log,
            _stdout: stdout,
        };
        match addr {
            Some(a) => served.addr = a,
            None => panic!("the server did not start:\n{}", served.log()),
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while crate::cli::status_of(&served.addr, "/readyz") != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the server never got ready:\n{}",
                served.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        served
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// kill -9: the process ends at once, whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as an orchestrator stops a server (it drains, then exits).
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
    }

    /// Wait for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait for the server")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// How long one request may take before the client gives up (a hang is an error, not a wait).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A browser over real HTTP: a connection pool and a session cookie. [`Remote::at`] gives the
/// same browser (the same cookie) for another server, as after a restart on a new port.
#[derive(Clone)]
pub struct Remote {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    cookie: Arc<Mutex<Option<String>>>,
}

impl Remote {
    pub fn new(addr: &str) -> Remote {
        Remote {
            client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
            base: format!("http://{addr}"),
            cookie: Arc::default(),
        }
    }

    /// This browser, talking to the server at `addr` on fresh connections.
    pub fn at(&self, addr: &str) -> Remote {
        Remote {
            cookie: Arc::clone(&self.cookie),
            ..Remote::new(addr)
        }
    }

    /// Sign in as test user `name`; panics unless it works.
    pub async fn sign_in(&self, name: &str) {
        let fields = [
            ("username".to_string(), name.to_string()),
            ("password".to_string(), password_of(name)),
            ("next".to_string(), "/".to_string()),
        ];
        let page = self.post("/login", &fields).await.expect("sign in");
        assert_eq!(page.status, 303, "sign-in as {name}: {}", page.body);
    }

    pub async fn get(&self, path: &str) -> Result<Page, String> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, fields: &[(String, String)]) -> Result<Page, String> {
        let form = serde_urlencoded::to_string(fields).map_err(|e| e.to_string())?;
        self.send(Method::POST, path, Some(form)).await
    }

    async fn send(&self, method: Method, path: &str, form: Option<String>) -> Result<Page, String> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(c) = self.cookie.lock().unwrap().as_deref() {
            req = req.header(header::COOKIE, c);
        }
        if form.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let body = Full::new(Bytes::from(form.unwrap_or_default()));
        let req = req.body(body).map_err(|e| e.to_string())?;
        let exchange = async {
            let res = self.client.request(req).await.map_err(|e| e.to_string())?;
            let (parts, body) = res.into_parts();
            let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((parts, bytes))
        };
        let (parts, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{path}: no answer within {REQUEST_TIMEOUT:?}"))??;
        for v in parts.headers.get_all(header::SET_COOKIE) {
            let pair = v.to_str().unwrap_or_default().split(';').next();
            if let Some(pair) = pair.filter(|p| p.starts_with("orderdesk_session=")) {
                *self.cookie.lock().unwrap() = Some(pair.to_string());
            }
        }
        Ok(Page {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}
