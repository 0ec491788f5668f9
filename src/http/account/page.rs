//! The account page itself: what protects the account (factors, backup codes,
//! security keys, contact details) and the sessions, loaded for one render;
//! and the page around a refusal or a notice (`SignedIn::page`, `refuse`).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::apps::{self, AppRow};
use super::keys;
use super::session::{recently_reauthenticated, SignedIn};
use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::factor_kind::FactorKind;
use crate::auth::user_agent::short_name;
use crate::auth::webauthn::Kind;
use crate::http::cookies::{self};
use crate::http::error::PageError;
use crate::http::render::{when, Page};
use crate::service::devices;
use crate::service::factors::contact_codes::{masked, Purpose};
use crate::service::factors::{security_keys, FactorOverview};
use crate::store::{Session, User, WebauthnCredential};

pub(super) const SIGNED_OUT_OTHERS: &str = "Your other sessions are signed out.";

pub(super) const SESSION_ENDED: &str = "That session is signed out.";

pub(super) const DEVICE_FORGOTTEN: &str =
    "That device is forgotten: it will be asked for your second factor at its next sign-in.";

pub(super) const PASSWORD_CHANGED: &str =
    "Your password is changed. Your other sessions are signed out.";

#[derive(Serialize)]
pub struct AccountPage {
    pub csrf_token: String,
    pub username: String,
    pub min_password_len: usize,
    pub acr: &'static str,
    pub reauthenticated: bool,
    pub needs_step_up: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub offer_sign_out_others: bool,
    pub sessions: Vec<SessionRow>,
    pub devices: Vec<DeviceRow>,
    pub apps: Vec<AppRow>,
    #[serde(flatten)]
    pub factors: FactorFields,
    #[serde(flatten)]
    pub contact: ContactFields,
}

/// The page's part on second factors, from the user's `FactorOverview`.
#[derive(Serialize)]
pub struct FactorFields {
    pub totp_enabled: bool,
    /// The account allows authenticator apps.
    pub app_allowed: bool,
    pub has_factor: bool,
    pub totp_since: Option<String>,
    pub totp_last_used: Option<String>,
    pub backup_codes_remaining: i64,
    pub backup_codes_low: bool,
    pub backup_codes_last_used: Option<String>,
    pub keys: Vec<KeyRow>,
    /// Why keys cannot be added here, if they cannot.
    pub keys_unavailable: Option<&'static str>,
}

/// The page's part on contact details: the email address and the recovery
/// phone, and the codes and messages sent to them.
#[derive(Serialize)]
pub struct ContactFields {
    pub email: String,
    pub email_verified: bool,
    pub email_codes_on: bool,
    pub email_codes_allowed: bool,
    /// A code to confirm the address is on its way.
    pub email_code_pending: bool,
    /// A code to verify the address alone is waiting to be entered.
    pub address_code_pending: bool,
    /// The last email to the user could not be delivered.
    pub email_delivery_failed: bool,
    /// The verified recovery phone, masked to its last four digits.
    pub phone: Option<String>,
    /// The account asks for a recovery phone and there is none yet.
    pub phone_required: bool,
    /// A code to confirm a number (or approve a change) is on its way.
    pub phone_code_pending: bool,
    pub sms_delivery_failed: bool,
}

/// One registered security key or passkey.
#[derive(Serialize)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub added: String,
    pub last_used: Option<String>,
}

/// One line of the remembered devices.
#[derive(Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub label: String,
    pub ip: String,
    pub remembered: String,
    pub last_used: String,
    pub until: String,
    pub is_current: bool,
}

/// The user's remembered devices, this browser marked.
async fn device_rows(
    app: &AppState,
    headers: &HeaderMap,
    user: &User,
) -> Result<Vec<DeviceRow>, PageError> {
    let token = cookies::device_token(app, headers);
    let current = devices::this_device(app, user, token.as_deref()).await?;
    Ok(devices::list(app, user)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            is_current: current.as_deref() == Some(d.id.as_str()),
            label: d.label,
            ip: d.last_ip.unwrap_or_default(),
            remembered: when(d.created_at),
            last_used: when(d.last_used_at),
            until: when(d.expires_at),
            id: d.id,
        })
        .collect())
}

/// One line of the session list.
#[derive(Serialize)]
pub struct SessionRow {
    pub sid: String,
    pub device: String,
    pub ip: String,
    pub last_seen: String,
    pub signed_in: String,
    pub is_current: bool,
    pub with_second_factor: bool,
}

impl Page for AccountPage {
    const TEMPLATE: &'static str = "account/security.html";
}

/// The account page for `user` in `session`, with an optional message.
pub async fn render_account(
    app: &AppState,
    headers: &HeaderMap,
    session: &Session,
    user: &User,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let overview = FactorOverview::load(app, user).await?;
    let contact = ContactFields::load(app, user, &overview).await?;
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let level = overview.level();
    let page = AccountPage {
        csrf_token,
        username: user.username.clone(),
        min_password_len: app.config.min_password_length,
        acr: session.acr.as_str(),
        reauthenticated: recently_reauthenticated(app, session),
        needs_step_up: !level.met_by(session.acr, &session.amr),
        offer_sign_out_others: offers_sign_out_others(notice.as_deref(), error.as_deref()),
        notice,
        error,
        sessions: session_rows(app, user, session).await?,
        devices: device_rows(app, headers, user).await?,
        apps: apps::app_rows(app, user).await?,
        factors: FactorFields::of(app, overview),
        contact,
    };
    let mut response = page.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

/// After a change to the factors, the user may want other devices out.
fn offers_sign_out_others(notice: Option<&str>, error: Option<&str>) -> bool {
    notice.is_some_and(|n| {
        n != SIGNED_OUT_OTHERS
            && n != SESSION_ENDED
            && n != PASSWORD_CHANGED
            && n != DEVICE_FORGOTTEN
            && n != apps::APP_REVOKED
            && !n.starts_with("We emailed")
            && !n.starts_with("We texted")
            && !n.starts_with("We phoned")
    }) && error.is_none()
}

/// The user's live sessions, this one marked.
async fn session_rows(
    app: &AppState,
    user: &User,
    session: &Session,
) -> Result<Vec<SessionRow>, PageError> {
    let sessions = app
        .store
        .sessions_of_user(&user.id, app.clock.now())
        .await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionRow {
            is_current: s.sid == session.sid,
            with_second_factor: Acr::stored(&s.acr) == Acr::Aal2,
            device: short_name(s.user_agent.as_deref()),
            ip: s.ip.unwrap_or_else(|| "unknown".into()),
            last_seen: when(s.last_seen_at),
            signed_in: when(s.created_at),
            sid: s.sid,
        })
        .collect())
}

impl FactorFields {
    fn of(app: &AppState, overview: FactorOverview) -> FactorFields {
        let has_factor = overview.level().any();
        let summary = &overview.summary;
        let keys_unavailable = if security_keys::relying_party(app).is_none() {
            Some(keys::UNAVAILABLE)
        } else if !overview.tenant.allows_keys() {
            Some("Your organisation does not allow security keys.")
        } else {
            None
        };
        FactorFields {
            totp_enabled: summary.totp.is_some(),
            app_allowed: overview.allows(FactorKind::Totp),
            has_factor,
            totp_since: summary.totp.map(|t| when(t.since)),
            totp_last_used: summary.totp.and_then(|t| t.last_used_at).map(when),
            backup_codes_remaining: summary.backup_codes_remaining,
            backup_codes_low: has_factor && summary.backup_codes_remaining <= 3,
            backup_codes_last_used: summary.backup_codes_last_used_at.map(when),
            keys_unavailable,
            keys: overview.keys.into_iter().map(KeyRow::of).collect(),
        }
    }
}

impl KeyRow {
    fn of(k: WebauthnCredential) -> KeyRow {
        KeyRow {
            kind: Kind::parse(&k.kind).map_or("Key", Kind::label),
            added: when(k.created_at),
            last_used: k.last_used_at.map(when),
            id: k.id,
            name: k.name,
        }
    }
}

impl ContactFields {
    async fn load(
        app: &AppState,
        user: &User,
        overview: &FactorOverview,
    ) -> Result<ContactFields, PageError> {
        let summary = &overview.summary;
        let sent = |purpose: Purpose| async move {
            let now = app.clock.now();
            let sent = app.store.contact_code_sent(&user.id, purpose.as_str(), now);
            Ok::<bool, PageError>(sent.await?.is_some())
        };
        let failed = |channel: &'static str| async move {
            let last = app.store.last_message(&user.id, channel).await?;
            Ok::<bool, PageError>(last.is_some_and(|m| m.failed_at.is_some()))
        };
        let phone_code_pending = sent(Purpose::PhoneVerify).await?
            || sent(Purpose::PhoneChange).await?
            || sent(Purpose::PhoneChangeNew).await?;
        Ok(ContactFields {
            email: user.email.clone(),
            email_verified: summary.email_verified_at.is_some(),
            email_codes_on: summary.email_codes_on,
            email_codes_allowed: overview.allows(FactorKind::Email),
            email_code_pending: !summary.email_codes_on && sent(Purpose::EmailVerify).await?,
            address_code_pending: summary.email_verified_at.is_none()
                && sent(Purpose::EmailAddress).await?,
            email_delivery_failed: failed("email").await?,
            phone_required: overview.tenant.settings.require_recovery_phone
                && summary.phone.is_none(),
            phone: summary.phone.as_ref().map(|(number, _)| masked(number)),
            phone_code_pending,
            sms_delivery_failed: failed("sms").await?,
        })
    }
}

/// The account page of `account` with a notice made for this request.
pub async fn render_account_with(
    app: &AppState,
    signed_in: &SignedIn,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    render_account(
        app,
        signed_in.headers(),
        &signed_in.session,
        &signed_in.user,
        notice,
        error,
        status,
    )
    .await
}

/// The account page around a request of the account pages.
impl SignedIn {
    /// The account page, with a notice or an error.
    pub async fn page(
        &self,
        app: &AppState,
        notice: Option<&'static str>,
        error: Option<&'static str>,
        status: StatusCode,
    ) -> Result<Response, PageError> {
        render_account(
            app,
            self.headers(),
            &self.session,
            &self.user,
            notice.map(String::from),
            error.map(String::from),
            status,
        )
        .await
    }

    /// The account page saying why a change was refused.
    pub async fn refuse(
        &self,
        app: &AppState,
        error: &'static str,
        status: StatusCode,
    ) -> Result<Response, PageError> {
        self.page(app, None, Some(error), status).await
    }

    /// The account page saying why a change was refused, in words made for it.
    pub async fn refuse_with(
        &self,
        app: &AppState,
        error: String,
        status: StatusCode,
    ) -> Result<Response, PageError> {
        let user = &self.user;
        render_account(
            app,
            self.headers(),
            &self.session,
            user,
            None,
            Some(error),
            status,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_795_619_027), "2026-11-25 15:03 UTC");
    }
}
