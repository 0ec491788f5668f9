//! First start: the one-time setup link, and the first account with its
//! administrator made from the setup form.

use crate::app::AppState;
use crate::auth::password_rules::PasswordFault;
use crate::auth::secret;
use crate::service::password::{hash_new, NewPasswordError};
use crate::store::{self, NewTenant, NewUser};

/// Where the setup form is served.
pub const PATH: &str = "/setup";
const LINK_LIFETIME_SECS: i64 = 24 * 3600;
/// The factors a new account allows.
pub const DEFAULT_FACTORS: &str = "totp,webauthn";

/// On an empty database, a fresh setup link (replacing any earlier one),
/// built from the configured issuer.
pub async fn setup_link(app: &AppState) -> Result<Option<String>, store::Error> {
    if app.store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = secret::random_token(32);
    let now = app.clock.now();
    app.store
        .put_setup_token(&secret::token_hash(&token), now, now + LINK_LIFETIME_SECS)
        .await?;
    Ok(Some(format!("{}{PATH}?token={token}", app.config.issuer())))
}

/// Whether a setup link still works.
pub async fn link_is_live(app: &AppState, token: &str) -> Result<bool, store::Error> {
    Ok(token.len() <= 64
        && app
            .store
            .setup_token_is_live(&secret::token_hash(token), app.clock.now())
            .await?)
}

/// The setup form's fields, trimmed.
pub struct FirstAdministrator<'a> {
    pub account: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub password: String,
}

/// Why setup did not complete.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupRefusal {
    #[error("the setup link has expired or was used")]
    UsedLink,
    #[error("the account name is empty or too long")]
    AccountName,
    #[error("the username is empty or too long")]
    Username,
    #[error("the email address is not valid")]
    Email,
    #[error(transparent)]
    Password(#[from] PasswordFault),
    #[error("the account name or username is taken")]
    Taken,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Refused(#[from] SetupRefusal),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The first fault of a setup form's names, in the order the form shows
/// its fields (the password's rules are `service::password`'s).
pub fn fault(form: &FirstAdministrator) -> Option<SetupRefusal> {
    if form.account.is_empty() || form.account.len() > 100 {
        Some(SetupRefusal::AccountName)
    } else if form.username.is_empty() || form.username.len() > 100 {
        Some(SetupRefusal::Username)
    } else if !form.email.contains('@') || form.email.len() > 254 {
        Some(SetupRefusal::Email)
    } else {
        None
    }
}

/// Uses the setup link `token` once: the first account and its
/// administrator (an operator) are created together, or nothing is.
pub async fn complete(
    app: &AppState,
    token: &str,
    form: FirstAdministrator<'_>,
) -> Result<(), SetupError> {
    let now = app.clock.now();
    let token_hash = secret::token_hash(token);
    if !app.store.setup_token_is_live(&token_hash, now).await? {
        return Err(SetupRefusal::UsedLink.into());
    }
    if let Some(fault) = fault(&form) {
        return Err(fault.into());
    }
    let context = [form.username, form.email, form.account];
    let password_hash = match hash_new(app, form.password.clone(), &context).await {
        Ok(hash) => hash,
        Err(NewPasswordError::Refused(fault)) => return Err(SetupRefusal::from(fault).into()),
        Err(NewPasswordError::Store(err)) => return Err(err.into()),
    };
    let factors: Vec<String> = DEFAULT_FACTORS.split(',').map(str::to_string).collect();
    let account_id = secret::random_id();
    let user_id = secret::random_id();
    let account = NewTenant {
        id: &account_id,
        name: form.account,
        require_mfa: false,
        factors: &factors,
        now,
    };
    let user = NewUser {
        id: &user_id,
        account_id: &account_id,
        username: form.username,
        email: form.email,
        password_hash: &password_hash,
        is_admin: true,
        is_operator: true,
        now,
    };
    match app.store.complete_setup(&token_hash, account, user).await {
        Ok(true) => {
            tracing::info!(user_id = %user_id, "first administrator created");
            Ok(())
        }
        Ok(false) => Err(SetupRefusal::UsedLink.into()),
        Err(store::Error::Duplicate(_)) => Err(SetupRefusal::Taken.into()),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(account: &str, username: &str, email: &str, password: &str) -> SetupRefusal {
        let form = FirstAdministrator {
            account,
            username,
            email,
            password: password.to_string(),
        };
        fault(&form).expect("a fault")
    }

    #[test]
    fn each_field_is_checked_in_the_order_of_the_form() {
        assert_eq!(form("", "", "", ""), SetupRefusal::AccountName);
        assert_eq!(form("acme", "", "", ""), SetupRefusal::Username);
        assert_eq!(form("acme", "ada", "ada", ""), SetupRefusal::Email);
        let good = FirstAdministrator {
            account: "acme",
            username: "ada",
            email: "a@x",
            password: "long enough".into(),
        };
        assert_eq!(fault(&good), None);
    }
}
