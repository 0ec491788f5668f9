//! `/admin/api/clients/...`: relying parties, for clients granted every account.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::request::{body, reply, ApiActor};
use crate::app::AppState;
use crate::auth::admin_rights;
use crate::http::error::ApiError;
use crate::oidc::registration::Registration;
use crate::service::console;
use crate::store::Client;

fn client_json(client: &Client) -> Value {
    json!({
        "client_id": client.client_id,
        "public": client.is_public(),
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "id_token_alg": client.id_token_alg,
        "admin_scope": client.admin_scope,
        "consent": client.consent,
        "require_par": client.require_par,
        "device_grant": client.device_grant,
        "token_endpoint_auth_method": auth_method(client),
        "jwks_uri": client.jwks_uri,
        "jwks": client.jwks.as_deref().and_then(|j| serde_json::from_str::<Value>(j).ok()),
    })
}

/// How the client authenticates at the token endpoint.
fn auth_method(client: &Client) -> &'static str {
    match (client.uses_keys(), client.is_public()) {
        (true, _) => "private_key_jwt",
        (false, true) => "none",
        (false, false) => "client_secret_basic",
    }
}

/// A client's registration as JSON; the id comes from the path when editing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    public: bool,
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    backchannel_logout_uri: Option<String>,
    #[serde(default = "default_alg")]
    id_token_alg: String,
    #[serde(default)]
    consent: bool,
    #[serde(default)]
    require_par: bool,
    #[serde(default)]
    device_grant: bool,
    /// `private_key_jwt`: the client's public keys, or where to fetch them.
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    jwks_uri: Option<String>,
}

fn default_alg() -> String {
    "RS256".into()
}

impl ClientBody {
    fn registration(self, client_id: String) -> Registration {
        Registration {
            client_id,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: self.backchannel_logout_uri.filter(|u| !u.is_empty()),
            id_token_alg: self.id_token_alg,
            consent: self.consent,
            require_par: self.require_par,
            device_grant: self.device_grant,
            jwks: self.jwks.map(|j| j.to_string()),
            jwks_uri: self.jwks_uri.filter(|u| !u.is_empty()),
        }
    }
}

pub async fn list(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    admin_rights::may_manage_clients(&actor)
        .map_err(|d| ApiError::Forbidden(d.message().into()))?;
    let clients: Vec<Value> = app.store.clients().await?.iter().map(client_json).collect();
    Ok(reply(StatusCode::OK, json!({ "clients": clients })))
}

pub async fn show(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    let client = console::client(&app, &actor, &client_id).await?;
    Ok(reply(StatusCode::OK, client_json(&client)))
}

pub async fn create(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_rights::may_manage_clients(&actor)
        .map_err(|d| ApiError::Forbidden(d.message().into()))?;
    let submitted: ClientBody = body(&bytes)?;
    let public = submitted.public;
    let client_id = submitted
        .client_id
        .clone()
        .ok_or_else(|| ApiError::BadRequest("client_id is missing".into()))?;
    let registration = submitted.registration(client_id);
    let secret = console::create_client(&app, &actor, &registration, public).await?;
    let client = console::client(&app, &actor, &registration.client_id).await?;
    let mut answer = json!({ "client": client_json(&client) });
    if let Some(secret) = secret {
        answer["client_secret"] = json!(secret);
    }
    Ok(reply(StatusCode::CREATED, answer))
}

pub async fn update(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(client_id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let submitted: ClientBody = body(&bytes)?;
    if submitted
        .client_id
        .as_ref()
        .is_some_and(|id| *id != client_id)
    {
        return Err(ApiError::BadRequest("a client's id cannot change".into()));
    }
    let registration = submitted.registration(client_id.clone());
    console::update_client(&app, &actor, &registration).await?;
    let client = console::client(&app, &actor, &client_id).await?;
    Ok(reply(StatusCode::OK, client_json(&client)))
}

pub async fn rotate(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    let secret = console::rotate_client_secret(&app, &actor, &client_id).await?;
    Ok(reply(
        StatusCode::OK,
        json!({ "client_id": client_id, "client_secret": secret }),
    ))
}
