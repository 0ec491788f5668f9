//! Authentication factors as the rest of the provider uses them. Ties
//! `auth` (pure) to `store` with the vault; one file a job:
//!
//! - `password`: the password check, throttled (`throttle`);
//! - `codes`: a code at the second step (TOTP, backup, email, SMS) behind
//!   the lock-out (`throttle::gated`), its outcome in `check`;
//! - `security_keys`: security keys and passkeys (WebAuthn);
//! - `contact_codes`: codes sent by email and SMS;
//! - `enrolment`: setting up the app, and the backup codes;
//! - `availability` and `level`: what a user has, and the level it reaches;
//!   `overview`: all of it loaded at once for a page;
//! - `binding`: the one rule for binding a factor;
//! - `reset`: taking factors away; `audit`: their events.
//!
//! The names the rest of the provider uses are re-exported here.

pub mod audit;
pub mod availability;
pub mod binding;
pub mod check;
pub mod codes;
pub mod contact_codes;
pub mod enrolment;
pub mod level;
pub mod overview;
pub mod password;
pub mod reset;
pub mod security_keys;
pub mod throttle;

pub use audit::audit;
pub use availability::{
    account_allows, email_codes_offered, email_codes_on, has_factor, has_totp, recovery_phone,
    sms_codes_usable,
};
pub use check::{Check, Method, Refusal};
pub use codes::check_code;
pub use enrolment::{
    confirm_enrolment, enrolment, regenerate_backup_codes, Enrolment, EnrolmentError,
    EnrolmentRefusal,
};
pub use overview::FactorOverview;
pub use password::{check_password, PasswordCheck};
pub use reset::{disable, reset, unlock};
pub use throttle::gated;
