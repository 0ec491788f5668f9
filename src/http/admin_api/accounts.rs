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
use crate::store::{AuditEntry, AuditKey, AuditQuery, ContactKey, ContactQuery, Seek, Tenant};

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

/// A search counts its matches up to this many (`total_capped` says so).
const COUNT_CAP: i64 = 1_000;

/// The `after` of a listing: where the previous page's `next` said to go on.
/// Pages are no longer numbered, so a `page` is refused with the way to page.
fn after_of(query: &Params) -> Result<Option<&str>, ApiError> {
    if query.get("page").ok().flatten().is_some() {
        return Err(ApiError::BadRequest(
            "page is not supported: pass the previous answer's next as after".into(),
        ));
    }
    match query.get("after") {
        Ok(after) => Ok(after.filter(|a| !a.is_empty())),
        Err(_) => Err(ApiError::BadRequest("after is given once".into())),
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
    let after = after_of(&query)?;
    let search = query.get("q").ok().flatten().unwrap_or_default().trim();
    let without_factor = query.get("without_factor").ok().flatten() == Some("true");
    let listing = ContactQuery {
        account_id: &account.id,
        search,
        without_factor,
        from: match after {
            None => Seek::First,
            Some(after) => Seek::After(ContactKey::parse(after).ok_or_else(|| {
                ApiError::BadRequest("after is the next of an earlier answer".into())
            })?),
        },
        limit: PAGE_SIZE,
    };
    let page = app.store.contacts(&listing).await?;
    let (total, total_capped) = if search.is_empty() {
        let counts = app.store.member_counts(&account.id).await?;
        let total = match without_factor {
            true => counts.without_factor,
            false => counts.members,
        };
        (total, false)
    } else {
        let total = app.store.count_contacts(&listing, COUNT_CAP).await?;
        (total, total >= COUNT_CAP)
    };
    let next = page
        .rows
        .last()
        .filter(|_| page.later)
        .map(|c| ContactKey::of(c).to_string());
    let now = app.clock.now();
    let members: Vec<Value> = page.rows.iter().map(|c| member_json(c, now)).collect();
    Ok(reply(
        StatusCode::OK,
        json!({
            "members": members,
            "total": total,
            "total_capped": total_capped,
            "next": next,
            "page_size": PAGE_SIZE,
        }),
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
    let after = after_of(&query)?;
    let from = match after {
        None => Seek::First,
        Some(after) => Seek::After(AuditKey::parse(after).ok_or_else(|| {
            ApiError::BadRequest("after is the next of an earlier answer".into())
        })?),
    };
    let kind = query.get("kind").ok().flatten();
    let member_id = query.get("member_id").ok().flatten();
    let page = app
        .store
        .audit_log(&AuditQuery {
            account_id: Some(&account.id),
            kind,
            user_id: member_id,
            from,
            limit: PAGE_SIZE,
        })
        .await?;
    let next = page
        .rows
        .last()
        .filter(|_| page.later)
        .map(|e| AuditKey::of(e).to_string());
    let events: Vec<Value> = page.rows.into_iter().map(event_json).collect();
    Ok(reply(
        StatusCode::OK,
        json!({ "events": events, "next": next, "page_size": PAGE_SIZE }),
    ))
}
