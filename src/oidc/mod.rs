//! Pure OpenID Connect protocol logic: requests, PKCE, claims and keys. No HTTP, no SQL.

pub mod auth_code;
pub mod authorize_request;
pub mod claims;
pub mod client_assertion;
pub mod device;
pub mod dpop;
pub mod endpoints;
pub mod keys;
pub mod par;
pub mod params;
pub mod pkce;
pub mod registration;
pub mod scope;
