//! Gatehouse: an OpenID Connect provider with a second-factor step.
//!
//! # Layers
//! Each module imports only from its own layer or the ones below it
//! (`tests/layers.rs` scans the sources and fails on an import upward):
//!
//! 1. **Foundation**: `store` (the only SQL), the pure `auth` and `oidc`,
//!    `config`, `clock`, `templates` and `telemetry`.
//! 2. **State**: `app`, the `AppState` that requests and tasks share.
//! 3. **Services**: `service`, the operations (tokens, factors, console, delivery,
//!    back-channel logout, housekeeping), for `http` and `cli` alike.
//! 4. **HTTP**: `http`, the handlers: parse, call, render.
//! 5. **Entry points**: `server` (router, background tasks, TLS), `cli`
//!    and `demo`.

/// `AppState`, what requests and background tasks share.
pub mod app;
/// Pure authentication logic: passwords, second factors, secrets.
pub mod auth;
/// The `gatehouse` command line.
pub mod cli;
/// The only source of "now".
pub mod clock;
/// Settings from file, environment and flags.
pub mod config;
/// `gatehouse demo`: the provider with two example relying parties.
pub mod demo;
/// HTTP handlers (axum only): extract, call, respond.
pub mod http;
/// Pure OpenID Connect protocol logic.
pub mod oidc;
/// The server: router, background tasks, TLS.
pub mod server;
/// Operations over the store: factors, the console, delivery, back-channel
/// logout, housekeeping.
pub mod service;
/// The only SQL.
pub mod store;
/// Metrics for Prometheus.
pub mod telemetry;
/// The built-in page and message templates.
pub mod templates;
