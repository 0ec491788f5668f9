//! Notices to a user's verified email address when what protects their
//! account changes (NIST SP 800-63B asks for one on every authenticator
//! change): which events send one, and what it says.

use serde_json::Value;

use super::{Channel, Message};
use crate::app::AppState;
use crate::auth::vault::Vault;
use crate::store::{self, User};

/// The subject and text of the notice for audit event `kind`, if it has one.
pub fn notice(kind: &str, detail: &Value) -> Option<(&'static str, String)> {
    let name = detail["name"].as_str().unwrap_or("a key");
    let (subject, what) = match kind {
        "totp_enrolled" => ("Authenticator app added", "An authenticator app was set up for two-step verification.".to_string()),
        "second_factor_disabled" => ("Authenticator app turned off", "The authenticator app was turned off.".to_string()),
        "webauthn_registered" => ("Security key added", format!("A security key or passkey named \"{name}\" was added.")),
        "webauthn_removed" => ("Security key removed", "A security key or passkey was removed.".to_string()),
        "email_codes_on" => ("Email codes turned on", "Sign-in codes can now be emailed to this address.".to_string()),
        "email_codes_off" => ("Email codes turned off", "Sign-in codes are no longer emailed to this address.".to_string()),
        "recovery_phone_added" => ("Recovery phone added", "A recovery phone was added.".to_string()),
        "recovery_phone_changed" => ("Recovery phone changed", "The recovery phone was changed.".to_string()),
        "recovery_phone_removed" => ("Recovery phone removed", "The recovery phone was removed.".to_string()),
        "backup_codes_regenerated" => ("New backup codes", "New backup codes were made; the old ones no longer work.".to_string()),
        "second_factor_reset" => ("Two-step verification reset", "An administrator reset your two-step verification: you will set it up again at your next sign-in.".to_string()),
        "recovered_by_sms" => ("Account recovered with your phone", "Your account was recovered with a code texted to your recovery phone; the old authenticator app no longer works.".to_string()),
        "password_reset" => ("Password reset", "The password was reset with a link sent to this address. Every session was signed out; two-step verification stays as it was.".to_string()),
        "password_set" => ("Password set", "A password was set with a link from an administrator. Every session was signed out.".to_string()),
        "password_changed" => ("Password changed", "The password was changed on the account page. Other sessions were signed out.".to_string()),
        "second_factor_locked" => ("Two-step verification locked", "Two-step verification was locked after repeated wrong codes.".to_string()),
        _ => return None,
    };
    let body = format!(
        "{what}\n\nIf this was not you, change your password now and tell your administrator.\n\nGatehouse"
    );
    Some((subject, body))
}

/// Emails `user` the notice for `kind`, when the event has one and their
/// address is verified.
pub async fn notify(
    app: &AppState,
    user: &User,
    kind: &str,
    detail: &Value,
) -> Result<(), store::Error> {
    if notify_in(&app.store, &app.vault, app.clock.now(), user, kind, detail).await? {
        app.messages.notify_one();
    }
    Ok(())
}

/// As `notify`, queued in `store` (from a command); whether one was queued.
pub async fn notify_in(
    store: &store::Store,
    vault: &Vault,
    now: i64,
    user: &User,
    kind: &str,
    detail: &Value,
) -> Result<bool, store::Error> {
    let Some((subject, body)) = notice(kind, detail) else {
        return Ok(false);
    };
    if store.email_state(&user.id).await?.0.is_none() {
        return Ok(false);
    }
    let message = Message {
        channel: Channel::Email,
        to: &user.email,
        subject,
        body: &body,
    };
    super::queue_in(store, vault, now, Some(&user.id), message).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_to_the_factors_has_a_notice_and_sign_ins_do_not() {
        for kind in [
            "totp_enrolled",
            "webauthn_registered",
            "backup_codes_regenerated",
            "second_factor_reset",
            "recovered_by_sms",
            "second_factor_locked",
            "recovery_phone_changed",
        ] {
            let (_, body) = notice(kind, &Value::Null).unwrap_or_else(|| panic!("{kind}"));
            assert!(body.contains("If this was not you"), "{kind}");
        }
        for kind in ["signed_in", "second_factor_ok", "password_failed"] {
            assert!(notice(kind, &Value::Null).is_none(), "{kind}");
        }
        let (_, body) = notice(
            "webauthn_registered",
            &serde_json::json!({ "name": "Blue key" }),
        )
        .unwrap();
        assert!(body.contains("\"Blue key\""));
    }
}
