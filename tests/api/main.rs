//! The one integration-test binary. Every database test runs on SQLite and, when
//! `ORDERDESK_TEST_POSTGRES_URL` names a server, on PostgreSQL (under CI it must).

mod api_client;
mod helpers;
mod load;
mod proxy;
mod served;

mod accounts;
mod api_tokens;
mod audit_log;
mod audit_session;
mod backup;
mod browser;
mod browser_a11y;
mod browser_entry;
mod browser_feedback;
mod charts;
mod cli;
mod company;
mod concurrency;
mod confirm;
mod crash;
mod credit_notes;
mod faults;
mod feedback;
mod forms;
mod fuzz;
mod golden;
mod json_api;
mod master_data;
mod order_entry;
mod pages;
mod receipts;
