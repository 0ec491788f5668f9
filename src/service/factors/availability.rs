//! Which second factors a user has and may use now, read from the factors
//! themselves on every call: any factor, the app, email and SMS codes, the
//! recovery phone.

use super::level;
use super::overview::FactorOverview;
use crate::app::AppState;
use crate::auth::factor_kind::FactorKind;
use crate::store::{self, User};

/// Whether the user has a second factor in force: an authenticator app, a
/// security key or a passkey, SMS codes where the account allows them, or
/// email codes (`level::Factors::any`). Read from the factors themselves on
/// every call, never from a session.
pub async fn has_factor(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(level::of(app, user).await?.any())
}

/// Whether the user may give a code sent by SMS at every sign-in: they have
/// a verified phone, and their account enables SMS as a second factor (NIST
/// SP 800-63B restricts it; it is off by default).
pub async fn sms_codes_usable(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(FactorOverview::load(app, user).await?.sms_codes_usable())
}

/// Whether the user turned email codes on (while their account allowed
/// them; a later change of the account's kinds stops new ones, not this
/// one, so that nobody is left with only a password).
pub async fn email_codes_on(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(app.store.email_state(&user.id).await?.1)
}

/// Whether the second step offers the user an email code
/// (`level::Factors::email_offered`).
pub async fn email_codes_offered(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(level::of(app, user).await?.email_offered())
}

/// The recovery phone of a user who may recover with it: their only second
/// factor is the authenticator app (with another, they give that instead).
pub async fn recovery_phone(app: &AppState, user: &User) -> Result<Option<String>, store::Error> {
    Ok(FactorOverview::load(app, user)
        .await?
        .recovery_phone()
        .map(str::to_string))
}

/// Whether the user's account allows the factor kind `kind`.
pub async fn account_allows(
    app: &AppState,
    user: &User,
    kind: FactorKind,
) -> Result<bool, store::Error> {
    Ok(app.store.tenant_of(user).await?.allows(kind))
}

/// Whether the user has an authenticator app set up.
pub async fn has_totp(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(app.store.active_totp(&user.id).await?.is_some())
}
