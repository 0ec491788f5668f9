//! Setting up the authenticator app (the pending secret shown again until
//! confirmed by a code) and the backup codes that come with a first factor.

use super::audit::audit;
use super::codes::unseal;
use crate::app::AppState;
use crate::auth::totp::{self, TotpError};
use crate::auth::{backup_codes, secret};
use crate::store::{self, TotpFactor, User};

/// An enrolment just started for `user`: what the enrolment page shows.
pub struct Enrolment {
    pub provisioning: totp::Provisioning,
    pub qr_svg: String,
}

/// The enrolment page's secret: the user's enrolment begun within a pending
/// sign-in's lifetime, shown again, or a fresh one. Showing the page is safe
/// to repeat (a reload, or a link followed from another site, never replaces
/// a secret the user is scanning); a secret older than that is never confirmed.
pub async fn enrolment(app: &AppState, user: &User) -> Result<Enrolment, store::Error> {
    let now = app.clock.now();
    let current = fresh_pending_totp(app, user, now).await?;
    let secret = match current.and_then(|p| unseal(app, &p)) {
        Some(secret) => secret,
        None => new_enrolment(app, user, now).await?,
    };
    let account = app.store.tenant_of(user).await?;
    let label = format!("{} ({})", user.username, account.name);
    let provisioning = totp::provisioning(&secret, &app.config.totp_issuer, &label)
        .map_err(|e| store::Error::Corrupt(e.to_string()))?;
    let qr_svg = qrcode::QrCode::new(provisioning.url.as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .map_err(|e| store::Error::Corrupt(format!("QR code: {e}")))?;
    Ok(Enrolment {
        provisioning,
        qr_svg,
    })
}

async fn new_enrolment(app: &AppState, user: &User, now: i64) -> Result<Vec<u8>, store::Error> {
    let secret = totp::new_secret();
    let id = secret::random_id();
    app.store
        .start_totp_enrolment(&id, &user.id, &app.vault.seal(&secret, &user.id), now)
        .await?;
    Ok(secret)
}

/// The user's enrolment under way, if it began within a pending sign-in's lifetime.
async fn fresh_pending_totp(
    app: &AppState,
    user: &User,
    now: i64,
) -> Result<Option<TotpFactor>, store::Error> {
    let fresh_since = now - app.config.pending_login_lifetime_secs;
    Ok(app
        .store
        .pending_totp(&user.id)
        .await?
        .filter(|p| p.created_at > fresh_since))
}

/// Why a code from the app did not confirm its enrolment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrolmentRefusal {
    /// No fresh enrolment is pending (or it was confirmed meanwhile): a new
    /// QR code is shown.
    Expired,
    /// Not a 6-digit code.
    Malformed,
    /// A code, but not the app's now.
    Wrong,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolmentError {
    #[error("enrolment refused: {0:?}")]
    Refused(EnrolmentRefusal),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<EnrolmentRefusal> for EnrolmentError {
    fn from(refusal: EnrolmentRefusal) -> Self {
        EnrolmentError::Refused(refusal)
    }
}

/// Confirms the pending enrolment with a code from the app. On success the
/// credential is active and these are the new backup codes, shown once.
pub async fn confirm_enrolment(
    app: &AppState,
    user: &User,
    code: &str,
    ip: Option<&str>,
) -> Result<Vec<String>, EnrolmentError> {
    let now = app.clock.now();
    let Some(pending) = fresh_pending_totp(app, user, now).await? else {
        return Err(EnrolmentRefusal::Expired.into());
    };
    let Some(secret) = unseal(app, &pending) else {
        return Err(EnrolmentRefusal::Expired.into());
    };
    let step = match totp::verify(&secret, code, now, pending.last_step) {
        Ok(step) => step,
        Err(TotpError::Malformed) => return Err(EnrolmentRefusal::Malformed.into()),
        Err(_) => return Err(EnrolmentRefusal::Wrong.into()),
    };
    let codes = backup_codes::generate(app.config.backup_code_count);
    let tags = tags(app, &codes);
    if !app
        .store
        .confirm_totp(&pending.id, &user.id, step, &tags, now)
        .await?
    {
        return Err(EnrolmentRefusal::Expired.into());
    }
    audit(app, "totp_enrolled", user, ip, serde_json::json!({})).await?;
    Ok(codes)
}

fn tags(app: &AppState, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .map(|c| {
            app.vault
                .tag(&backup_codes::normalize(c).expect("generated codes are well formed"))
        })
        .collect()
}

/// Replaces all backup codes; returns the new ones, shown once.
pub async fn regenerate_backup_codes(
    app: &AppState,
    user: &User,
    ip: Option<&str>,
) -> Result<Vec<String>, store::Error> {
    let codes = backup_codes::generate(app.config.backup_code_count);
    app.store
        .replace_backup_codes(&user.id, &tags(app, &codes), app.clock.now())
        .await?;
    audit(
        app,
        "backup_codes_regenerated",
        user,
        ip,
        serde_json::json!({}),
    )
    .await?;
    Ok(codes)
}
