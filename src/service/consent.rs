//! Consent for third-party clients: a client registered with `consent` gets
//! a user's data only after the user allowed it those scopes. The first
//! authorization asks; one that wants scopes beyond those allowed, or says
//! `prompt=consent`, asks again; **Revoke** forgets the consent with every
//! grant the client holds of the user. First-party clients are never asked.
//! Each decision is audited.

use crate::app::AppState;
use crate::oidc::scope;
use crate::service::audit::user_event;
use crate::store::{self, Client, Consent, User};

/// Whether `user_id` must be asked before `client` gets `scope`: a
/// third-party client, and the request says `prompt=consent` (`asked`) or
/// wants a scope the user has not allowed it.
pub async fn needed(
    app: &AppState,
    client: &Client,
    user_id: &str,
    requested: &str,
    asked: bool,
) -> Result<bool, store::Error> {
    if !client.consent {
        return Ok(false);
    }
    if asked {
        return Ok(true);
    }
    let recorded = app.store.consent(user_id, &client.client_id).await?;
    Ok(!recorded.is_some_and(|c| scope::is_subset(requested, &c.scope)))
}

/// **Allow**: `user` allows `client_id` the scopes `requested`, with those
/// allowed before.
pub async fn allow(
    app: &AppState,
    user: &User,
    client_id: &str,
    requested: &str,
    ip: Option<&str>,
) -> Result<(), store::Error> {
    let before = app.store.consent(&user.id, client_id).await?;
    let allowed = match &before {
        Some(c) => scope::normalize(&format!("{} {requested}", c.scope)),
        None => scope::normalize(requested),
    };
    let now = app.clock.now();
    app.store
        .record_consent(&user.id, client_id, &allowed, now)
        .await?;
    let detail = serde_json::json!({ "client_id": client_id, "scope": allowed });
    user_event(app, "consent_given", user, None, ip, detail).await
}

/// **Deny**: audited; nothing is recorded, so the next request asks again.
pub async fn deny(
    app: &AppState,
    user: &User,
    client_id: &str,
    ip: Option<&str>,
) -> Result<(), store::Error> {
    let detail = serde_json::json!({ "client_id": client_id });
    user_event(app, "consent_denied", user, None, ip, detail).await
}

/// The clients `user` allowed, for Connected apps.
pub async fn list(app: &AppState, user: &User) -> Result<Vec<Consent>, store::Error> {
    app.store.consents_of(&user.id).await
}

/// **Revoke**: forgets `user`'s consent to `client_id` and revokes that
/// client's refresh and access tokens of theirs; whether there was one.
/// `actor` is the administrator who did it, when not the user.
pub async fn revoke(
    app: &AppState,
    user: &User,
    client_id: &str,
    actor: Option<&str>,
    ip: Option<&str>,
) -> Result<bool, store::Error> {
    if client_id.is_empty() || client_id.len() > 255 {
        return Ok(false);
    }
    let now = app.clock.now();
    if !app.store.revoke_consent(&user.id, client_id, now).await? {
        return Ok(false);
    }
    let detail = serde_json::json!({ "client_id": client_id });
    user_event(app, "consent_revoked", user, actor, ip, detail).await?;
    Ok(true)
}
