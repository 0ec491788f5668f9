//! The services layer: what the provider does, over the store, for the
//! handlers in `http` and the commands in `cli`. Imports `app` and the
//! foundation (`store`, `auth`, `oidc`, `config`, `clock`), never `http`.

/// The audit event about one user.
pub mod audit;
/// Back-channel logout delivery.
pub mod backchannel;
/// The public keys of private_key_jwt clients, registered or fetched.
pub mod client_keys;
/// Consent for third-party clients: asked, recorded, revoked.
pub mod consent;
/// The provider console's operations, for its pages and its API.
pub mod console;
/// Email and SMS to users: queued, sent, retried.
pub mod delivery;
/// The device authorization grant: codes, the person's answer.
pub mod device;
/// Remembered devices: the password alone from a browser that gave the factor.
pub mod devices;
/// DPoP proofs at the endpoints: checked, used once, with server nonces.
pub mod dpop;
/// Second factors against the store: codes, enrolment, lock-out, reset.
pub mod factors;
/// Purging expired rows on a schedule.
pub mod housekeeping;
/// New passwords: the rules, the one-time links, what a new one ends.
pub mod password;
/// First start: the setup link and the first administrator.
pub mod setup;
/// The password step of a sign-in.
pub mod sign_in;
/// Token issuance: a grant's claims, signed.
pub mod tokens;
