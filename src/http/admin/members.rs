//! Members: add one (with a one-time link to set the password), and on a
//! member's page unlock their second step, disable or enable them, and make
//! them an administrator or not.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::contacts::member;
use super::{param, query, Admin, Frame};
use crate::app::AppState;
use crate::auth::{password, secret};
use crate::factors;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::oidc::authorize::see_other;
use crate::http::password_link::{self, LINK_LIFETIME_SECS};
use crate::http::render::{when, Page};
use crate::store::{self, Account, NewUser, User};

pub const NEW_PATH: &str = "/admin/contacts/new";

/// The page of a member.
pub fn member_path(id: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/admin/contacts/{id}")
}

#[derive(Serialize, Default)]
struct NewMemberFields {
    username: String,
    email: String,
    is_admin: bool,
}

#[derive(Serialize)]
struct NewMemberPage {
    #[serde(flatten)]
    frame: Frame,
    fields: NewMemberFields,
    error: Option<&'static str>,
}

impl Page for NewMemberPage {
    const TEMPLATE: &'static str = "admin/new_member.html";
}

#[derive(Serialize)]
struct LinkPage {
    #[serde(flatten)]
    frame: Frame,
    username: String,
    member_href: String,
    link: String,
    valid_until: String,
}

impl Page for LinkPage {
    const TEMPLATE: &'static str = "admin/password_link.html";
}

async fn render_new(
    app: &AppState,
    admin: &Admin,
    account: &Account,
    fields: NewMemberFields,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let (frame, cookie) = admin.frame(app, account, "contacts").await?;
    let mut response = NewMemberPage {
        frame,
        fields,
        error,
    }
    .render(app)?;
    if error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn show_new(
    State(app): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    let account = admin.account(&app, param(&params, "account")).await?;
    render_new(&app, &admin, &account, NewMemberFields::default(), None).await
}

/// What is wrong with a new member's username or email, if anything.
fn check_new_member(fields: &NewMemberFields) -> Option<&'static str> {
    let username_ok = (1..=100).contains(&fields.username.chars().count())
        && !fields
            .username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    let email_ok = fields.email.len() <= 254
        && fields
            .email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !fields
            .email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !username_ok {
        Some("Choose a username of 1 to 100 characters without spaces.")
    } else if !email_ok {
        Some("Enter a valid email address.")
    } else {
        None
    }
}

/// A new one-time link for `member`, shown once to the administrator.
async fn issue_link(
    app: &AppState,
    admin: &Admin,
    account: &Account,
    member: &User,
) -> Result<Response, PageError> {
    let token = secret::random_token(32);
    let now = app.clock.now();
    let expires_at = now + LINK_LIFETIME_SECS;
    app.store
        .put_password_link(&secret::token_hash(&token), &member.id, now, expires_at)
        .await?;
    let (frame, cookie) = admin.frame(app, account, "contacts").await?;
    let mut response = LinkPage {
        frame,
        username: member.username.clone(),
        member_href: member_path(&member.id),
        link: password_link::link(app, &token),
        valid_until: when(expires_at),
    }
    .render(app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn submit_new(
    State(app): State<AppState>,
    admin: Admin,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    let account = admin.account(&app, param(&form, "account")).await?;
    let fields = NewMemberFields {
        username: param(&form, "username")
            .unwrap_or_default()
            .trim()
            .to_string(),
        email: param(&form, "email").unwrap_or_default().trim().to_string(),
        is_admin: param(&form, "is_admin") == Some("on"),
    };
    if let Some(error) = check_new_member(&fields) {
        return render_new(&app, &admin, &account, fields, Some(error)).await;
    }
    // Until the member uses their link, no password works: the hash is of a random one.
    let cost = app.config.hash_cost();
    let unusable = app
        .hash_blocking(move || password::hash(&secret::random_token(32), cost))
        .await
        .map_err(|e| PageError::Internal(format!("hashing: {e}")))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let id = secret::random_id();
    let created = app
        .store
        .create_user(NewUser {
            id: &id,
            account_id: &account.id,
            username: &fields.username,
            email: &fields.email,
            password_hash: &unusable,
            is_admin: fields.is_admin,
            is_operator: false,
            now: app.clock.now(),
        })
        .await;
    match created {
        Ok(()) => {}
        Err(store::Error::Duplicate(_)) => {
            return render_new(
                &app,
                &admin,
                &account,
                fields,
                Some("That username is taken. Choose another."),
            )
            .await
        }
        Err(e) => return Err(e.into()),
    }
    admin
        .audit(
            &app,
            "member_created",
            &account.id,
            Some(&id),
            serde_json::json!({ "username": fields.username, "administrator": fields.is_admin }),
        )
        .await?;
    let member = app
        .store
        .user_by_id(&id)
        .await?
        .ok_or(store::Error::NotFound("the new member"))?;
    issue_link(&app, &admin, &account, &member).await
}

#[derive(Serialize)]
struct MemberPage {
    #[serde(flatten)]
    frame: Frame,
    id: String,
    username: String,
    email: String,
    is_admin: bool,
    is_operator: bool,
    is_disabled: bool,
    is_self: bool,
    must_enroll: bool,
    factors: Option<String>,
    locked_until: Option<String>,
    last_sign_in: Option<String>,
    notice: Option<&'static str>,
}

impl Page for MemberPage {
    const TEMPLATE: &'static str = "admin/member.html";
}

pub async fn show_member(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    // Seeing a member needs the right to their account; changing them, more (not oneself).
    let Some(user) = app.store.user_by_id(&id).await? else {
        return Err(PageError::NotFound("There is no such member.".into()));
    };
    let account = admin.account(&app, Some(&user.account_id)).await?;
    let contact = app.store.contact(&user.id).await?;
    let now = app.clock.now();
    let notice = match param(&params, "done") {
        Some("unlocked") => Some("The second step is unlocked."),
        Some("disabled") => Some("The member is disabled and signed out everywhere."),
        Some("enabled") => Some("The member can sign in again."),
        Some("role") => Some("The role is changed."),
        _ => None,
    };
    let (frame, cookie) = admin.frame(&app, &account, "contacts").await?;
    let mut response = MemberPage {
        frame,
        is_self: user.id == admin.user.id,
        factors: contact.as_ref().map(super::contacts::factor_summary_of),
        locked_until: contact
            .as_ref()
            .and_then(|c| c.locked_until)
            .filter(|&t| t > now)
            .map(when),
        last_sign_in: contact.as_ref().and_then(|c| c.last_sign_in_at).map(when),
        id: user.id,
        username: user.username,
        email: user.email,
        is_admin: user.is_admin,
        is_operator: user.is_operator,
        is_disabled: user.is_disabled,
        must_enroll: user.must_enroll,
        notice,
    }
    .render(&app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

fn done(member: &User, what: &str) -> Response {
    see_other(&format!("{}?done={what}", member_path(&member.id)))
}

pub async fn submit_unlock(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let member = member(&app, &admin, &id).await?;
    factors::unlock(&app.store, &member).await?;
    admin
        .audit(
            &app,
            "second_factor_unlocked",
            &member.account_id,
            Some(&member.id),
            serde_json::json!({ "username": member.username }),
        )
        .await?;
    Ok(done(&member, "unlocked"))
}

pub async fn submit_disable(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let member = member(&app, &admin, &id).await?;
    let now = app.clock.now();
    app.store.set_disabled(&member.id, true).await?;
    let sessions = app
        .store
        .end_sessions_of_user(&member.id, None, now)
        .await?;
    let grants = app.store.revoke_grants_of_user(&member.id, now).await?;
    admin
        .audit(
            &app,
            "member_disabled",
            &member.account_id,
            Some(&member.id),
            serde_json::json!({
                "username": member.username,
                "sessions_ended": sessions,
                "grants_revoked": grants,
            }),
        )
        .await?;
    Ok(done(&member, "disabled"))
}

pub async fn submit_enable(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let member = member(&app, &admin, &id).await?;
    app.store.set_disabled(&member.id, false).await?;
    admin
        .audit(
            &app,
            "member_enabled",
            &member.account_id,
            Some(&member.id),
            serde_json::json!({ "username": member.username }),
        )
        .await?;
    Ok(done(&member, "enabled"))
}

pub async fn submit_role(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    let member = member(&app, &admin, &id).await?;
    let is_admin = match param(&form, "administrator") {
        Some("yes") => true,
        Some("no") => false,
        _ => return Err(PageError::BadRequest("Choose a role.".into())),
    };
    app.store.set_admin(&member.id, is_admin).await?;
    admin
        .audit(
            &app,
            "member_role_changed",
            &member.account_id,
            Some(&member.id),
            serde_json::json!({ "username": member.username, "administrator": is_admin }),
        )
        .await?;
    Ok(done(&member, "role"))
}

/// A new one-time link for a member who has not set a password or forgot it.
pub async fn submit_password_link(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let member = member(&app, &admin, &id).await?;
    let account = admin.account(&app, Some(&member.account_id)).await?;
    admin
        .audit(
            &app,
            "password_link_issued",
            &account.id,
            Some(&member.id),
            serde_json::json!({ "username": member.username }),
        )
        .await?;
    issue_link(&app, &admin, &account, &member).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(username: &str, email: &str) -> NewMemberFields {
        NewMemberFields {
            username: username.into(),
            email: email.into(),
            is_admin: false,
        }
    }

    #[test]
    fn new_members_need_a_username_and_an_email() {
        assert_eq!(check_new_member(&fields("ann", "ann@example.com")), None);
        assert!(check_new_member(&fields("", "ann@example.com")).is_some());
        assert!(check_new_member(&fields("a b", "ann@example.com")).is_some());
        assert!(check_new_member(&fields("ann", "ann")).is_some());
        assert!(check_new_member(&fields("ann", "@example.com")).is_some());
        assert!(check_new_member(&fields("ann", "ann@localhost")).is_some());
    }

    #[test]
    fn member_paths_escape_the_id() {
        assert_eq!(member_path("abc"), "/admin/contacts/abc");
        assert_eq!(member_path("a/b"), "/admin/contacts/a%2Fb");
    }
}
