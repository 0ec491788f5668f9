//! Relying parties registered and changed from the console (operators), and
//! the `admin` scope a client may hold over accounts.

use super::{audit, hash_secret, ConsoleError, Result};
use crate::app::AppState;
use crate::auth::admin_rights::{self, Actor};
use crate::auth::secret;
use crate::oidc::registration::{self, Registration};
use crate::store::{self, Client, NewClient};

/// Changes to relying parties belong to no account: they are the provider's
/// events, in the operators' log.
const PROVIDER_EVENT: &str = "";

pub async fn client(app: &AppState, actor: &Actor, client_id: &str) -> Result<Client> {
    admin_rights::may_manage_clients(actor)?;
    app.store
        .client(client_id)
        .await?
        .ok_or(ConsoleError::NotFound("There is no such relying party."))
}

/// The row of a client as `registration` gives it, with `secret_hash`.
pub fn new_client<'a>(
    registration: &'a Registration,
    secret_hash: Option<&'a str>,
    now: i64,
) -> NewClient<'a> {
    NewClient {
        client_id: &registration.client_id,
        secret_hash,
        redirect_uris: &registration.redirect_uris,
        post_logout_redirect_uris: &registration.post_logout_redirect_uris,
        backchannel_logout_uri: registration.backchannel_logout_uri.as_deref(),
        id_token_alg: &registration.id_token_alg,
        consent: registration.consent,
        require_par: registration.require_par,
        jwks: registration.jwks.as_deref(),
        jwks_uri: registration.jwks_uri.as_deref(),
        device_grant: registration.device_grant,
        now,
    }
}

/// Registers a client; a confidential one gets a secret, returned once.
pub async fn create_client(
    app: &AppState,
    actor: &Actor,
    registration: &Registration,
    public: bool,
) -> Result<Option<String>> {
    admin_rights::may_manage_clients(actor)?;
    registration::check(registration).map_err(ConsoleError::Invalid)?;
    // A client with keys authenticates with them, not with a secret.
    let secret = if public || registration.has_keys() {
        None
    } else {
        let secret = secret::random_token(32);
        Some((secret.clone(), hash_secret(app, secret).await?))
    };
    app.store
        .create_client(new_client(
            registration,
            secret.as_ref().map(|(_, hash)| hash.as_str()),
            app.clock.now(),
        ))
        .await
        .map_err(|e| match e {
            store::Error::Duplicate(_) => ConsoleError::Duplicate(format!(
                "A client with client_id {:?} exists already.",
                registration.client_id
            )),
            other => other.into(),
        })?;
    let detail = serde_json::json!({
        "client_id": registration.client_id,
        "public": public,
        "redirect_uris": registration.redirect_uris,
        "consent": registration.consent,
        "require_par": registration.require_par,
        "device_grant": registration.device_grant,
    });
    audit(app, actor, "client_created", PROVIDER_EVENT, None, detail).await?;
    Ok(secret.map(|(secret, _)| secret))
}

/// Changes a client's URIs, algorithm and policies; its id and kind stay.
pub async fn update_client(
    app: &AppState,
    actor: &Actor,
    registration: &Registration,
) -> Result<()> {
    let existing = client(app, actor, &registration.client_id).await?;
    registration::check(registration).map_err(ConsoleError::Invalid)?;
    // The kind stays: a client with keys keeps keys (new ones when given),
    // and one with a secret, or none, gets none.
    let new_keys = registration.has_keys();
    if new_keys && !existing.uses_keys() {
        return Err(ConsoleError::Invalid(
            "Only a client registered with keys (private_key_jwt) can be given keys.".into(),
        ));
    }
    let (jwks, jwks_uri) = match new_keys {
        true => (
            registration.jwks.as_deref(),
            registration.jwks_uri.as_deref(),
        ),
        false => (existing.jwks.as_deref(), existing.jwks_uri.as_deref()),
    };
    let mut changed = new_client(registration, None, app.clock.now());
    (changed.jwks, changed.jwks_uri) = (jwks, jwks_uri);
    app.store.update_client(changed).await?;
    let detail = serde_json::json!({
        "client_id": existing.client_id,
        "keys_changed": new_keys,
        "redirect_uris": registration.redirect_uris,
        "post_logout_redirect_uris": registration.post_logout_redirect_uris,
        "backchannel_logout_uri": registration.backchannel_logout_uri,
        "id_token_alg": registration.id_token_alg,
        "consent": registration.consent,
        "require_par": registration.require_par,
        "device_grant": registration.device_grant,
    });
    audit(app, actor, "client_changed", PROVIDER_EVENT, None, detail).await
}

/// A new secret for a confidential client, returned once; the old one stops working.
pub async fn rotate_client_secret(
    app: &AppState,
    actor: &Actor,
    client_id: &str,
) -> Result<String> {
    let existing = client(app, actor, client_id).await?;
    if existing.is_public() {
        return Err(ConsoleError::Invalid(
            "A public client has no secret to rotate.".into(),
        ));
    }
    let secret = secret::random_token(32);
    let hash = hash_secret(app, secret.clone()).await?;
    app.store.set_client_secret(client_id, &hash).await?;
    let detail = serde_json::json!({ "client_id": client_id });
    audit(
        app,
        actor,
        "client_secret_rotated",
        PROVIDER_EVENT,
        None,
        detail,
    )
    .await?;
    Ok(secret)
}

/// Grants a confidential client the `admin` scope over one account or all
/// (`*`), or takes it away (`None`).
pub async fn set_client_admin_scope(
    app: &AppState,
    actor: &Actor,
    client_id: &str,
    scope: Option<&str>,
) -> Result<()> {
    check_client_admin_scope(app, actor, client_id, scope).await?;
    app.store.set_client_admin_scope(client_id, scope).await?;
    let detail = serde_json::json!({ "client_id": client_id, "admin_scope": scope });
    audit(app, actor, "client_changed", PROVIDER_EVENT, None, detail).await
}

/// Whether `scope` can be granted to the client: a confidential one, and an
/// account that exists (or `*`).
pub async fn check_client_admin_scope(
    app: &AppState,
    actor: &Actor,
    client_id: &str,
    scope: Option<&str>,
) -> Result<()> {
    let existing = client(app, actor, client_id).await?;
    if existing.is_public() && scope.is_some() {
        return Err(ConsoleError::Invalid(
            "Only a confidential client can be granted the admin scope.".into(),
        ));
    }
    if let Some(account_id) = scope.filter(|s| *s != admin_rights::ALL_ACCOUNTS) {
        if app.store.tenant_by_id(account_id).await?.is_none() {
            return Err(ConsoleError::Invalid("There is no such account.".into()));
        }
    }
    Ok(())
}
