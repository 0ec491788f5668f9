//! The account page itself: what protects the account (factors, backup codes,
//! security keys, contact details) and the sessions, loaded for one render;
//! and the page around a refusal or a notice (`SignedIn::page`, `refuse`).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::keys;
use super::session::{may_change, recently_reauthenticated, SignedIn, EXPIRED_FORM};
use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::webauthn::Kind;
use crate::http::cookies::{self};
use crate::http::error::PageError;
use crate::http::render::{when, Page};
use crate::oidc::params::Params;
use crate::service::factors::contact_codes::{masked, Purpose};
use crate::service::factors::{self, security_keys};
use crate::store::{Session, User};

pub(super) const SIGNED_OUT_OTHERS: &str = "Your other sessions are signed out.";

pub(super) const SESSION_ENDED: &str = "That session is signed out.";

#[derive(Serialize, Default)]
pub struct AccountPage {
    pub csrf_token: String,
    pub username: String,
    pub acr: String,
    pub totp_enabled: bool,
    /// The account allows authenticator apps.
    pub app_allowed: bool,
    pub has_factor: bool,
    pub totp_since: Option<String>,
    pub totp_last_used: Option<String>,
    pub backup_codes_remaining: i64,
    pub backup_codes_low: bool,
    pub backup_codes_last_used: Option<String>,
    pub reauthenticated: bool,
    pub needs_step_up: bool,
    pub notice: Option<String>,
    pub error: Option<&'static str>,
    pub offer_sign_out_others: bool,
    pub sessions: Vec<SessionRow>,
    pub keys: Vec<KeyRow>,
    pub email: String,
    pub email_verified: bool,
    pub email_codes_on: bool,
    pub email_codes_allowed: bool,
    /// A code to confirm the address is on its way.
    pub email_code_pending: bool,
    /// The last email to the user could not be delivered.
    pub email_delivery_failed: bool,
    /// The verified recovery phone, masked to its last four digits.
    pub phone: Option<String>,
    /// The account asks for a recovery phone and there is none yet.
    pub phone_required: bool,
    /// A code to confirm a number (or approve a change) is on its way.
    pub phone_code_pending: bool,
    pub sms_delivery_failed: bool,
    /// Why keys cannot be added here, if they cannot.
    pub keys_unavailable: Option<&'static str>,
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

/// A short name for the browser and system a user agent string describes.
fn device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.is_empty()) else {
        return "Unknown device".into();
    };
    let browser = ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/", "reqwest"]
        .iter()
        .find(|b| ua.contains(*b))
        .map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            "Safari/" => "Safari",
            "curl/" => "curl",
            _ => "An HTTP client",
        });
    let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .iter()
        .find(|s| ua.contains(*s));
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {}", s.replace("Mac OS", "macOS")),
        (Some(b), None) => b.to_string(),
        _ => ua.chars().take(60).collect(),
    }
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
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let totp = app.store.active_totp(&user.id).await?;
    let now = app.clock.now();
    let (email_verified_at, email_codes_on) = app.store.email_state(&user.id).await?;
    let email_codes_allowed = factors::account_allows(app, user, "email").await?;
    let email_code_pending = app
        .store
        .contact_code_sent(&user.id, Purpose::EmailVerify.as_str(), now)
        .await?
        .is_some();
    let phone = app.store.phone_state(&user.id).await?;
    let mut phone_code_pending = false;
    for purpose in [
        Purpose::PhoneVerify,
        Purpose::PhoneChange,
        Purpose::PhoneChangeNew,
    ] {
        phone_code_pending |= app
            .store
            .contact_code_sent(&user.id, purpose.as_str(), now)
            .await?
            .is_some();
    }
    let sms_delivery_failed = app
        .store
        .last_message(&user.id, "sms")
        .await?
        .is_some_and(|m| m.failed_at.is_some());
    let email_delivery_failed = app
        .store
        .last_message(&user.id, "email")
        .await?
        .is_some_and(|m| m.failed_at.is_some());
    let keys: Vec<KeyRow> = app
        .store
        .webauthn_credentials(&user.id)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            kind: Kind::parse(&k.kind).map_or("Key", Kind::label),
            added: when(k.created_at),
            last_used: k.last_used_at.map(when),
            id: k.id,
            name: k.name,
        })
        .collect();
    let tenant = app.store.account_of(user).await?;
    let keys_unavailable = if security_keys::relying_party(app).is_none() {
        Some(keys::UNAVAILABLE)
    } else if !tenant
        .factors
        .iter()
        .any(|f| f == "webauthn" || f == "passkey")
    {
        Some("Your organisation does not allow security keys.")
    } else {
        None
    };
    let factors_now = factors::level::of(app, user).await?;
    let has_factor = factors_now.any();
    let backup = app.store.backup_code_summary(&user.id).await?;
    let now = app.clock.now();
    let sessions = app
        .store
        .sessions_of_user(&user.id, now)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            is_current: s.sid == session.sid,
            with_second_factor: Acr::stored(&s.acr) == Acr::Aal2,
            device: device(s.user_agent.as_deref()),
            ip: s.ip.unwrap_or_else(|| "unknown".into()),
            last_seen: when(s.last_seen_at),
            signed_in: when(s.created_at),
            sid: s.sid,
        })
        .collect();
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let page = AccountPage {
        sessions,
        csrf_token,
        username: user.username.clone(),
        acr: session.acr.as_str().into(),
        totp_enabled: totp.is_some(),
        app_allowed: tenant.factors.iter().any(|f| f == "totp"),
        has_factor,
        totp_since: totp.as_ref().and_then(|t| t.confirmed_at).map(when),
        totp_last_used: totp.as_ref().and_then(|t| t.last_used_at).map(when),
        backup_codes_remaining: backup.remaining,
        backup_codes_low: has_factor && backup.remaining <= 3,
        backup_codes_last_used: backup.last_used_at.map(when),
        reauthenticated: recently_reauthenticated(app, session),
        needs_step_up: !factors_now.met_by(session.acr, &session.amr),
        keys,
        keys_unavailable,
        // After a change to the factors, the user may want other devices out.
        offer_sign_out_others: notice.as_deref().is_some_and(|n| {
            n != SIGNED_OUT_OTHERS
                && n != SESSION_ENDED
                && !n.starts_with("We emailed")
                && !n.starts_with("We texted")
        }) && error.is_none(),
        notice,
        error,
        email: user.email.clone(),
        email_verified: email_verified_at.is_some(),
        email_codes_on,
        email_codes_allowed,
        email_code_pending: email_code_pending && !email_codes_on,
        email_delivery_failed,
        phone_required: tenant.settings.require_recovery_phone && phone.is_none(),
        phone: phone.map(|(number, _)| masked(&number)),
        phone_code_pending,
        sms_delivery_failed,
    };
    let mut response = page.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

/// The account page of `account` with a notice made for this request.
pub async fn render_account_with(
    app: &AppState,
    signed_in: &SignedIn,
    notice: Option<String>,
    error: Option<&'static str>,
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
            error,
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

    /// A submitted form that changes the user's factors: its CSRF token
    /// must hold and the session may change them (see `may_change`);
    /// otherwise the account page saying why not.
    pub async fn changing_form(
        &self,
        app: &AppState,
        body: &[u8],
    ) -> Result<Result<Params, Response>, PageError> {
        let Some(form) = self.form(app, body) else {
            let page = self
                .refuse(app, EXPIRED_FORM, StatusCode::FORBIDDEN)
                .await?;
            return Ok(Err(page));
        };
        if let Some(refusal) = may_change(app, self).await? {
            return Ok(Err(self
                .refuse(app, refusal, StatusCode::FORBIDDEN)
                .await?));
        }
        Ok(Ok(form))
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

    #[test]
    fn devices_get_short_names() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(device(Some(chrome)), "Chrome on Linux");
        assert_eq!(device(None), "Unknown device");
    }
}
