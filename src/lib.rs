//! Gatehouse: an OpenID Connect provider with a second-factor step.

/// `AppState` and the router.
pub mod app;
/// Pure authentication logic: passwords, second factors, secrets.
pub mod auth;
/// Back-channel logout delivery.
pub mod backchannel;
/// The `gatehouse` command line.
pub mod cli;
/// The only source of "now".
pub mod clock;
/// Settings from file, environment and flags.
pub mod config;
/// The provider console's operations, for its pages and its API.
pub mod console;
/// Email and SMS to users: queued, sent, retried.
pub mod delivery;
/// `gatehouse demo`: the provider with two example relying parties.
pub mod demo;
/// Second factors against the store: codes, enrolment, lock-out, reset.
pub mod factors;
/// Purging expired rows on a schedule.
pub mod housekeeping;
/// HTTP handlers (axum only): extract, call, respond.
pub mod http;
/// Pure OpenID Connect protocol logic.
pub mod oidc;
/// The only SQL.
pub mod store;
/// Metrics for Prometheus.
pub mod telemetry;
