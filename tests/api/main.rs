//! End-to-end tests: the real server on an ephemeral port, driven as relying
//! parties and browsers would, on SQLite and (with GATEHOUSE_TEST_PG_URL) PostgreSQL.

mod account;
mod admin;
mod admin_api;
mod admin_audit;
mod admin_clients;
mod admin_members;
mod admin_settings;
mod binary;
mod browser;
mod cli;
mod code_flow;
mod common;
mod demo;
mod email_code_level;
mod email_codes;
mod faults;
mod hostile;
mod logout;
mod logs;
mod operations;
mod outages;
mod passwords;
mod receivers;
mod recovery_phone;
mod regressions;
mod regressions_edges;
mod regressions_messages;
mod remembered_devices;
mod restarts;
mod revocation;
mod second_factor;
mod security_keys;
mod session;
mod setup;
mod tokens;
