//! orderdesk: server-rendered order confirmation with exactly-once effects.
//!
//! Module map: `domain` (pure values and rules), `db` (SQL behind one `Db` type, a module per
//! backend), `idempotency` (tokens, claims, replays), `ops` (state-changing operations run in one
//! transaction), `http` (routers, pages, extractors), `cli` (the `orderdesk` command), `demo`.

pub mod auth;
pub mod cli;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod exit;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod ops;
pub mod server;
