//! The one integration-test binary. Every database test runs on SQLite and, when
//! `ORDERDESK_TEST_POSTGRES_URL` names a server, on PostgreSQL (under CI it must).

mod helpers;

mod accounts;
mod browser;
mod cli;
mod concurrency;
mod confirm;
mod forms;
mod fuzz;
mod pages;
mod receipts;
