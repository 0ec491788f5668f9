//! Pure authentication logic: password hashing and secret handling.

pub mod password;
pub mod secret;
