//! `/admin/api/accounts/...`: accounts, their settings, members and audit log.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::members::member_json;
use super::request::{body, reply, ApiActor};
use crate::app::AppState;
use crate::auth::policy::{self, SettingsInput};
use crate::http::error::ApiError;
use crate::oidc::params::Params;
use crate::service::console::{self, NewMember};
use crate::store::{AuditEntry, ContactQuery, Tenant};

const PAGE_SIZE: i64 = 50;

pub fn account_json(account: &Tenant) -> Value {
    json!({
        "id": account.id,
        "name": account.name,
        "require_mfa": account.require_mfa,
        "factors": account.factors,
        "settings": account.settings,
    })
}

pub async fn list(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Response, ApiError> {
    let accounts = console::accounts(&app, &actor).await?;
    let accounts: Vec<Value> = accounts.iter().map(account_json).collect();
    Ok(reply(StatusCode::OK, json!({ "accounts": accounts })))
}

pub async fn show(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(account_id): Path<String>,
) -> Result<Response, ApiError> {
    let account = console::account(&app, &actor, &account_id).await?;
    Ok(reply(StatusCode::OK, account_json(&account)))
}

/// The settings as the console's form has them; absent numbers keep the provider's setting.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    require_mfa: bool,
    #[serde(default)]
    grace: Option<String>,
    grace_days: Option<i64>,
    grace_sign_ins: Option<i64>,
    session_idle_minutes: Option<i64>,
    session_lifetime_hours: Option<i64>,
    mfa_failure_limit: Option<i64>,
    mfa_lockout_minutes: Option<i64>,
    /// The factor kinds members may use; absent keeps them.
    #[serde(default)]
    factors: Option<Vec<String>>,
    #[serde(default)]
    require_recovery_phone: Option<bool>,
    #[serde(default)]
    email_codes_aal2: Option<bool>,
    /// 0 to 90; absent keeps the account's.
    #[serde(default)]
    remember_device_days: Option<i64>,
}

pub async fn put_settings(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(account_id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let account = console::account(&app, &actor, &account_id).await?;
    let submitted: SettingsBody = body(&bytes)?;
    let text = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let remember = submitted
        .remember_device_days
        .unwrap_or(account.settings.remember_device_days)
        .to_string();
    let (grace_days, grace_sign_ins, idle, lifetime, limit, lockout) = (
        text(submitted.grace_days),
        text(submitted.grace_sign_ins),
        text(submitted.session_idle_minutes),
        text(submitted.session_lifetime_hours),
        text(submitted.mfa_failure_limit),
        text(submitted.mfa_lockout_minutes),
    );
    let input = SettingsInput {
        require_mfa: submitted.require_mfa,
        grace: submitted.grace.as_deref().unwrap_or("none"),
        grace_days: &grace_days,
        grace_sign_ins: &grace_sign_ins,
        idle_minutes: &idle,
        lifetime_hours: &lifetime,
        failure_limit: &limit,
        lockout_minutes: &lockout,
        require_recovery_phone: submitted
            .require_recovery_phone
            .unwrap_or(account.settings.require_recovery_phone),
        email_codes_aal2: submitted
            .email_codes_aal2
            .unwrap_or(account.settings.email_codes_aal2),
        remember_device_days: &remember,
    };
    let settings = policy::parse_settings(&input, &account.settings, &app.config)
        .map_err(ApiError::BadRequest)?;
    let factors = match &submitted.factors {
        Some(chosen) => {
            let chosen: Vec<&str> = chosen.iter().map(String::as_str).collect();
            if let Some(unknown) = chosen.iter().find(|k| !policy::FACTOR_KINDS.contains(k)) {
                return Err(ApiError::BadRequest(format!(
                    "factors: {unknown:?} is not one of totp, webauthn, passkey, email, sms"
                )));
            }
            policy::parse_factors(&chosen).map_err(ApiError::BadRequest)?
        }
        None => account.factors.clone(),
    };
    console::save_settings(
        &app,
        &actor,
        &account.id,
        submitted.require_mfa,
        &settings,
        &factors,
    )
    .await?;
    let saved = console::account(&app, &actor, &account.id).await?;
    Ok(reply(StatusCode::OK, account_json(&saved)))
}

fn page_of(query: &Params) -> Result<i64, ApiError> {
    match query.get("page").ok().flatten() {
        None => Ok(1),
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| ApiError::BadRequest("page is a whole number from 1".into())),
    }
}

pub async fn members(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(account_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let account = console::account(&app, &actor, &account_id).await?;
    let query = Params::parse(raw.unwrap_or_default().as_bytes());
    let page = page_of(&query)?;
    let search = query.get("q").ok().flatten().unwrap_or_default();
    let without_factor = query.get("without_factor").ok().flatten() == Some("true");
    let (contacts, total) = app
        .store
        .contacts(&ContactQuery {
            account_id: &account.id,
            search,
            without_factor,
            limit: PAGE_SIZE,
            offset: (page - 1) * PAGE_SIZE,
        })
        .await?;
    let now = app.clock.now();
    let members: Vec<Value> = contacts.iter().map(|c| member_json(c, now)).collect();
    Ok(reply(
        StatusCode::OK,
        json!({ "members": members, "total": total, "page": page, "page_size": PAGE_SIZE }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMemberBody {
    username: String,
    email: String,
    #[serde(default)]
    administrator: bool,
}

pub async fn create_member(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(account_id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let submitted: NewMemberBody = body(&bytes)?;
    let new = NewMember {
        username: submitted.username.trim(),
        email: submitted.email.trim(),
        administrator: submitted.administrator,
    };
    let (member, link) = console::create_member(&app, &actor, &account_id, &new).await?;
    let contact = app
        .store
        .contact(&member.id)
        .await?
        .ok_or_else(|| ApiError::Internal("the new member vanished".into()))?;
    Ok(reply(
        StatusCode::CREATED,
        json!({
            "member": member_json(&contact, app.clock.now()),
            "password_link": link.link,
            "password_link_expires_at": link.expires_at,
        }),
    ))
}

fn event_json(entry: AuditEntry) -> Value {
    json!({
        "at": entry.at,
        "kind": entry.kind,
        "member": entry.username,
        "actor": entry.actor,
        "ip": entry.ip,
        "detail": serde_json::from_str::<Value>(&entry.detail).unwrap_or(Value::Null),
    })
}

pub async fn audit(
    State(app): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(account_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let account = console::account(&app, &actor, &account_id).await?;
    let query = Params::parse(raw.unwrap_or_default().as_bytes());
    let page = page_of(&query)?;
    let kind = query.get("kind").ok().flatten();
    let member_id = query.get("member_id").ok().flatten();
    let events = app
        .store
        .audit_log(
            Some(&account.id),
            kind,
            member_id,
            PAGE_SIZE,
            (page - 1) * PAGE_SIZE,
        )
        .await?;
    let events: Vec<Value> = events.into_iter().map(event_json).collect();
    Ok(reply(
        StatusCode::OK,
        json!({ "events": events, "page": page, "page_size": PAGE_SIZE }),
    ))
}
