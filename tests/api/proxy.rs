//! A TCP proxy the test controls, put between a server and PostgreSQL: it passes traffic, or
//! stalls it (a database that accepts and never answers), or cuts one connection right after
//! a COMMIT went through and before its answer comes back (the outcome a server cannot know).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A `COMMIT` as sqlx sends it: a simple Query message ('Q', length 11, "COMMIT\0").
const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

struct Shared {
    upstream: String,
    /// True while no byte goes through in either direction.
    stalled: watch::Sender<bool>,
    /// The next COMMIT to go through is cut off from its answer.
    cut_armed: AtomicBool,
    cuts: AtomicUsize,
}

/// The proxy; it stops accepting when dropped (connections already open run on).
pub struct TcpProxy {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy in front of the PostgreSQL server that `url` names.
    pub async fn for_url(url: &str) -> TcpProxy {
        let (_, host_port) = split_authority(url);
        let upstream = match host_port.contains(':') {
            true => host_port.to_string(),
            false => format!("{host_port}:5432"),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            stalled: watch::channel(false).0,
            cut_armed: AtomicBool::new(false),
            cuts: AtomicUsize::new(0),
        });
        let accept = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(relay(client, Arc::clone(&shared)));
                }
            }
        });
        TcpProxy {
            addr,
            shared,
            accept,
        }
    }

    /// `url` with its host and port replaced by this proxy's.
    pub fn url(&self, url: &str) -> String {
        let (start, host_port) = split_authority(url);
        format!(
            "{}{}{}",
            &url[..start],
            self.addr,
            &url[start + host_port.len()..]
        )
    }

    /// Hold every byte from now on, both ways, and leave new connections unanswered.
    pub fn stall(&self) {
        self.shared.stalled.send_replace(true);
    }

    /// Pass traffic again, held bytes first.
    pub fn resume(&self) {
        self.shared.stalled.send_replace(false);
    }

    /// Let the next COMMIT reach the database, swallow the database's answer, and close both
    /// sides of that connection.
    pub fn cut_after_next_commit(&self) {
        self.shared.cut_armed.store(true, Ordering::SeqCst);
    }

    /// How many connections were cut after a COMMIT.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Where the host and port of a URL start, and the `host:port` text itself.
fn split_authority(url: &str) -> (usize, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[after_scheme..]
        .find(['/', '?'])
        .map_or(url.len(), |i| i + after_scheme);
    let start = url[after_scheme..authority_end]
        .rfind('@')
        .map_or(after_scheme, |i| after_scheme + i + 1);
    (start, &url[start..authority_end])
}

async fn until_flowing(stalled: &mut watch::Receiver<bool>) {
    let _ = stalled.wait_for(|s| !*s).await;
}

/// One connection: client to upstream in a task of its own, upstream to client here.
async fn relay(client: TcpStream, shared: Arc<Shared>) {
    let mut stalled = shared.stalled.subscribe();
    until_flowing(&mut stalled).await;
    let Ok(upstream) = TcpStream::connect(&shared.upstream).await else {
        return;
    };
    let (client_read, mut client_write) = client.into_split();
    let (mut upstream_read, upstream_write) = upstream.into_split();
    let cut = Arc::new(AtomicBool::new(false));
    let outbound = tokio::spawn(to_upstream(
        client_read,
        upstream_write,
        Arc::clone(&shared),
        Arc::clone(&cut),
    ));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match upstream_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        until_flowing(&mut stalled).await;
        if cut.load(Ordering::SeqCst) {
            // The COMMIT's answer (the database did commit): swallowed, both sides closed.
            shared.cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    outbound.abort();
    let _ = client_write.shutdown().await;
}

async fn to_upstream(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: Arc<Shared>,
    cut: Arc<AtomicBool>,
) {
    let mut stalled = shared.stalled.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    // The tail of the previous read, so a COMMIT split over two reads is still seen.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        until_flowing(&mut stalled).await;
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(COMMIT.len()).any(|w| w == COMMIT)
            && shared.cut_armed.swap(false, Ordering::SeqCst)
        {
            cut.store(true, Ordering::SeqCst);
        }
        let keep = tail.len().saturating_sub(COMMIT.len() - 1);
        tail.drain(..keep);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
