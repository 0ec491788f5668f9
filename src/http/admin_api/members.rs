//! `/admin/api/members/{id}/...`: one member, and what the console does to them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::request::{body, reply, ApiActor};
use crate::app::AppState;
use crate::http::error::ApiError;
use crate::service::console;
use crate::store::{Contact, User};

pub fn member_json(contact: &Contact, now: i64) -> Value {
    json!({
        "id": contact.id,
        "username": contact.username,
        "email": contact.email,
        "administrator": contact.is_admin != 0,
        "disabled": contact.is_disabled != 0,
        "must_enroll": contact.must_enroll != 0,
        "last_sign_in_at": contact.last_sign_in_at,
        "factors": {
            "totp": contact.totp > 0,
            "totp_last_used_at": contact.totp_last_used_at,
            "backup_codes_left": contact.backup_codes_left,
            "backup_code_last_used_at": contact.backup_code_last_used_at,
            "security_keys": contact.keys,
            "security_key_last_used_at": contact.key_last_used_at,
        },
        "locked_until": contact.locked_until.filter(|&t| t > now),
    })
}

/// The member as the API shows them, after an operation.
async fn answer(app: &AppState, member: &User) -> Result<Response, ApiError> {
    let contact = app
        .store
        .contact(&member.id)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such member.".into()))?;
    Ok(reply(
        StatusCode::OK,
        member_json(&contact, app.clock.now()),
    ))
}

pub async fn show(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let member = console::member_to_see(&app, &actor, &id).await?;
    answer(&app, &member).await
}

pub async fn reset_2fa(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let member = console::reset_2fa(&app, &actor, &id).await?;
    answer(&app, &member).await
}

pub async fn unlock(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let member = console::unlock(&app, &actor, &id).await?;
    answer(&app, &member).await
}

pub async fn disable(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let member = console::disable(&app, &actor, &id).await?;
    answer(&app, &member).await
}

pub async fn enable(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let member = console::enable(&app, &actor, &id).await?;
    answer(&app, &member).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    administrator: bool,
}

pub async fn set_administrator(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let role: RoleBody = body(&bytes)?;
    let member = console::set_administrator(&app, &actor, &id, role.administrator).await?;
    answer(&app, &member).await
}

pub async fn password_link(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, link) = console::issue_password_link(&app, &actor, &id).await?;
    Ok(reply(
        StatusCode::OK,
        json!({ "password_link": link.link, "password_link_expires_at": link.expires_at }),
    ))
}
