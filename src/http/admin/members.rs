//! Members: add one (with a one-time link to set the password), and on a
//! member's page unlock their second step, disable or enable them, and make
//! them an administrator or not.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::frame::{param, query, Admin, Frame};
use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::{when, Page};
use crate::service::console::{self, ConsoleError, NewMember, PasswordLink};
use crate::store::{Tenant, User};

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
    error: Option<String>,
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
    account: &Tenant,
    fields: NewMemberFields,
    error: Option<String>,
) -> Result<Response, PageError> {
    let refused = error.is_some();
    let mut response = admin
        .render(app, account, "contacts", |frame| NewMemberPage {
            frame,
            fields,
            error,
        })
        .await?;
    if refused {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
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

/// The page that shows a member's one-time link, once.
async fn show_link(
    app: &AppState,
    admin: &Admin,
    account: &Tenant,
    member: &User,
    link: PasswordLink,
) -> Result<Response, PageError> {
    admin
        .render(app, account, "contacts", |frame| LinkPage {
            frame,
            username: member.username.clone(),
            member_href: member_path(&member.id),
            link: link.link,
            valid_until: when(link.expires_at),
        })
        .await
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
    let new = NewMember {
        username: &fields.username,
        email: &fields.email,
        administrator: fields.is_admin,
    };
    match console::create_member(&app, &admin.actor(), &account.id, &new).await {
        Ok((member, link)) => show_link(&app, &admin, &account, &member, link).await,
        Err(ConsoleError::Invalid(error) | ConsoleError::Duplicate(error)) => {
            render_new(&app, &admin, &account, fields, Some(error)).await
        }
        Err(e) => Err(e.into()),
    }
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
    email_verified: bool,
    /// The verified recovery phone, masked.
    phone: Option<String>,
    devices: Vec<DeviceRow>,
    apps: Vec<AppRow>,
    notice: Option<&'static str>,
}

/// A third-party client the member allowed.
#[derive(Serialize)]
struct AppRow {
    client_id: String,
    scope: String,
    since: String,
}

/// A remembered device of the member.
#[derive(Serialize)]
struct DeviceRow {
    id: String,
    label: String,
    ip: String,
    last_used: String,
    until: String,
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
    let user = console::member_to_see(&app, &admin.actor(), &id).await?;
    let account = admin.account(&app, Some(&user.account_id)).await?;
    let contact = app.store.contact(&user.id).await?;
    let now = app.clock.now();
    let notice = match param(&params, "done") {
        Some("unlocked") => Some("The second step is unlocked."),
        Some("disabled") => Some("The member is disabled and signed out everywhere."),
        Some("enabled") => Some("The member can sign in again."),
        Some("role") => Some("The role is changed."),
        Some("device") => Some("The device is forgotten: it asks for the second factor again."),
        Some("app") => Some("The app is disconnected: its tokens of the member are revoked."),
        _ => None,
    };
    let devices = console::devices_of(&app, &admin.actor(), &user.id)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            label: d.label,
            ip: d.last_ip.unwrap_or_default(),
            last_used: when(d.last_used_at),
            until: when(d.expires_at),
            id: d.id,
        })
        .collect();
    let apps = console::apps_of(&app, &admin.actor(), &user.id)
        .await?
        .into_iter()
        .map(|c| AppRow {
            client_id: c.client_id,
            scope: c.scope,
            since: when(c.granted_at),
        })
        .collect();
    admin
        .render(&app, &account, "contacts", |frame| MemberPage {
            frame,
            is_self: user.id == admin.user.id,
            factors: contact.as_ref().map(super::contacts::factor_summary),
            locked_until: contact
                .as_ref()
                .and_then(|c| c.locked_until)
                .filter(|&t| t > now)
                .map(when),
            last_sign_in: contact.as_ref().and_then(|c| c.last_sign_in_at).map(when),
            email_verified: contact
                .as_ref()
                .is_some_and(|c| c.email_verified_at.is_some()),
            phone: contact
                .as_ref()
                .filter(|c| c.phone_verified_at.is_some())
                .and_then(|c| c.phone.as_deref())
                .map(crate::service::factors::contact_codes::masked),
            id: user.id,
            username: user.username,
            email: user.email,
            is_admin: user.is_admin,
            is_operator: user.is_operator,
            is_disabled: user.is_disabled,
            must_enroll: user.must_enroll,
            devices,
            apps,
            notice,
        })
        .await
}

fn done(member: &User, what: &str) -> Response {
    see_other(&format!("{}?done={what}", member_path(&member.id)))
}

/// **Unlock**, **Disable** and **Enable** on a member's page: a POST to
/// `/admin/contacts/{id}/{action}`.
pub async fn submit_switch(
    State(app): State<AppState>,
    admin: Admin,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let actor = admin.actor();
    let (member, done_as) = match action.as_str() {
        "unlock" => (console::unlock(&app, &actor, &id).await?, "unlocked"),
        "disable" => (console::disable(&app, &actor, &id).await?, "disabled"),
        "enable" => (console::enable(&app, &actor, &id).await?, "enabled"),
        _ => {
            return Err(PageError::NotFound(
                "There is no page at this address.".into(),
            ))
        }
    };
    Ok(done(&member, done_as))
}

pub async fn submit_role(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    let administrator = match param(&form, "administrator") {
        Some("yes") => true,
        Some("no") => false,
        _ => return Err(PageError::BadRequest("Choose a role.".into())),
    };
    let member = console::set_administrator(&app, &admin.actor(), &id, administrator).await?;
    Ok(done(&member, "role"))
}

/// **Forget** beside one of a member's remembered devices.
pub async fn submit_forget_device(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    let device = param(&form, "device").unwrap_or_default();
    let member = console::forget_device(&app, &admin.actor(), &id, device).await?;
    Ok(done(&member, "device"))
}

/// **Revoke** beside one of a member's connected apps.
pub async fn submit_revoke_app(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    let client_id = param(&form, "client_id").unwrap_or_default();
    let member = console::revoke_app(&app, &admin.actor(), &id, client_id).await?;
    Ok(done(&member, "app"))
}

/// A new one-time link for a member who has not set a password or forgot it.
pub async fn submit_password_link(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let (member, link) = console::issue_password_link(&app, &admin.actor(), &id).await?;
    let account = admin.account(&app, Some(&member.account_id)).await?;
    show_link(&app, &admin, &account, &member, link).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_escape_the_id() {
        assert_eq!(member_path("abc"), "/admin/contacts/abc");
        assert_eq!(member_path("a/b"), "/admin/contacts/a%2Fb");
    }
}
