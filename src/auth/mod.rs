//! Pure authentication logic: passwords, second factors, secrets.

pub mod acr;
pub mod admin_rights;
pub mod backup_codes;
pub mod factor_kind;
pub mod hash_pool;
pub mod login_flow;
pub mod password;
pub mod password_rules;
pub mod policy;
pub mod secret;
pub mod totp;
pub mod user_agent;
pub mod vault;
pub mod webauthn;
