//! Connected apps on `/account`: the third-party clients the user allowed,
//! with what and since when, and **Revoke**, which forgets the consent and
//! ends that client's tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::session::Posted;
use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::error::PageError;
use crate::http::render::when;
use crate::oidc::scope;
use crate::service::consent;
use crate::store::User;

pub const REVOKE_PATH: &str = "/account/apps/revoke";

pub(super) const APP_REVOKED: &str =
    "That app is disconnected: its tokens stop working, and it must ask you again.";

/// One connected app.
#[derive(Serialize)]
pub struct AppRow {
    pub client_id: String,
    /// What it was allowed, in words.
    pub allowed: Vec<&'static str>,
    pub since: String,
}

/// The user's connected apps.
pub(super) async fn app_rows(app: &AppState, user: &User) -> Result<Vec<AppRow>, PageError> {
    Ok(consent::list(app, user)
        .await?
        .into_iter()
        .map(|c| AppRow {
            allowed: c
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(scope::in_words)
                .collect(),
            since: when(c.granted_at),
            client_id: c.client_id,
        })
        .collect())
}

/// The form of an app's **Revoke** button.
#[derive(Deserialize)]
pub struct RevokeForm {
    client_id: Option<String>,
}

pub async fn submit_revoke(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<RevokeForm>,
) -> Result<Response, PageError> {
    let client_id = form.client_id.unwrap_or_default();
    let ip = ip.to_string();
    if !consent::revoke(&app, &signed_in.user, &client_id, None, Some(&ip)).await? {
        let error = "That app is not one of your connected apps.";
        return signed_in.refuse(&app, error, StatusCode::NOT_FOUND).await;
    }
    signed_in
        .page(&app, Some(APP_REVOKED), None, StatusCode::OK)
        .await
}
