//! A code at the second step, checked against the user's factors: the
//! authenticator app (TOTP, with replay refused), a backup code, an emailed
//! or texted code; behind the lock-out (`throttle::gated`).

use super::availability::sms_codes_usable;
use super::check::{Check, Method, Refusal};
use super::throttle::gated;
use super::{contact_codes, level};
use crate::app::AppState;
use crate::auth::backup_codes;
use crate::auth::totp::{self, TotpError};
use crate::store::{self, TotpFactor, User};

/// Checks a code for `user`, with the lock-out: failures are counted in the
/// database, the limit locks the second step, a success clears the count.
pub async fn check_code(
    app: &AppState,
    user: &User,
    code: &str,
    ip: Option<&str>,
) -> Result<Check, store::Error> {
    gated(app, user, ip, |now| try_code(app, user, code, now)).await
}

/// The code checked against the user's factors, without the lock-out.
async fn try_code(
    app: &AppState,
    user: &User,
    code: &str,
    now: i64,
) -> Result<Result<Method, Refusal>, store::Error> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == totp::DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
        let by_app = match app.store.active_totp(&user.id).await? {
            Some(factor) => match unseal(app, &factor) {
                Some(secret) => match totp::verify(&secret, &digits, now, factor.last_step) {
                    Ok(step) if app.store.use_totp_step(&factor.id, step, now).await? => {
                        Ok(Method::Totp)
                    }
                    Ok(_) | Err(TotpError::Replayed) => Err(Refusal::AlreadyUsed),
                    Err(_) => Err(Refusal::Wrong),
                },
                None => Err(Refusal::Wrong),
            },
            None => Err(Refusal::Wrong),
        };
        if by_app != Err(Refusal::Wrong) {
            return Ok(by_app);
        }
        use contact_codes::Purpose;
        let factors = level::of(app, user).await?;
        if factors.email_offered()
            && contact_codes::take(app, user, Purpose::EmailSignIn, &digits)
                .await?
                .is_some()
        {
            let counted = factors.email_counts();
            return Ok(Ok(Method::EmailCode { counted }));
        }
        if sms_codes_usable(app, user).await?
            && contact_codes::take(app, user, Purpose::SmsSignIn, &digits)
                .await?
                .is_some()
        {
            return Ok(Ok(Method::SmsCode));
        }
        return Ok(Err(Refusal::Wrong));
    }
    match backup_codes::normalize(code) {
        Some(normalized) => {
            let tag = app.vault.tag(&normalized);
            Ok(if app.store.use_backup_code(&user.id, &tag, now).await? {
                Ok(Method::BackupCode)
            } else {
                Err(Refusal::Wrong)
            })
        }
        None => Ok(Err(Refusal::Wrong)),
    }
}

pub(super) fn unseal(app: &AppState, factor: &TotpFactor) -> Option<Vec<u8>> {
    match app.vault.unseal(&factor.secret_enc, &factor.user_id) {
        Ok(secret) => Some(secret),
        Err(err) => {
            tracing::error!(%err, user_id = %factor.user_id, "a TOTP secret does not open");
            None
        }
    }
}
