//! Contacts: the members of an account with what protects their sign-in,
//! and **Reset 2FA** for a member who lost their factor.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::frame::{page_number, param, query, Admin, Frame};
use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::{when, Page};
use crate::service::console;
use crate::store::{Contact, ContactQuery, User};

pub const PATH: &str = "/admin/contacts";
pub const ALL_PATH: &str = "/admin/contacts/all";
const PAGE_SIZE: i64 = 25;

#[derive(Serialize)]
struct MenuPage {
    #[serde(flatten)]
    frame: Frame,
}

impl Page for MenuPage {
    const TEMPLATE: &'static str = "admin/contacts_menu.html";
}

pub async fn show_menu(
    State(app): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    let account = admin.account(&app, param(&params, "account")).await?;
    admin
        .render(&app, &account, "contacts", |frame| MenuPage { frame })
        .await
}

/// One member in the list.
#[derive(Serialize)]
struct ContactRow {
    id: String,
    username: String,
    email: String,
    is_admin: bool,
    is_disabled: bool,
    is_self: bool,
    factors: String,
    factor_last_used: Option<String>,
    locked_until: Option<String>,
    must_enroll: bool,
    last_sign_in: Option<String>,
    email_verified: bool,
    /// The verified recovery phone, masked.
    phone: Option<String>,
}

/// The factors of a member in words: "Authenticator app, 2 security keys, 9 backup codes".
pub(super) fn factor_summary(contact: &Contact) -> String {
    let mut parts = Vec::new();
    if contact.totp > 0 {
        parts.push("Authenticator app".to_string());
    }
    match contact.keys {
        0 => {}
        1 => parts.push("1 security key".into()),
        n => parts.push(format!("{n} security keys")),
    }
    match contact.backup_codes_left {
        0 => {}
        1 => parts.push("1 backup code".into()),
        n => parts.push(format!("{n} backup codes")),
    }
    if parts.is_empty() {
        "None".into()
    } else {
        parts.join(", ")
    }
}

fn contact_row(contact: Contact, actor: &User, now: i64) -> ContactRow {
    let last_used = contact
        .totp_last_used_at
        .max(contact.backup_code_last_used_at)
        .max(contact.key_last_used_at);
    ContactRow {
        factors: factor_summary(&contact),
        factor_last_used: last_used.map(when),
        locked_until: contact.locked_until.filter(|&t| t > now).map(when),
        is_self: contact.id == actor.id,
        is_admin: contact.is_admin != 0,
        is_disabled: contact.is_disabled != 0,
        must_enroll: contact.must_enroll != 0,
        last_sign_in: contact.last_sign_in_at.map(when),
        email_verified: contact.email_verified_at.is_some(),
        phone: contact
            .phone
            .as_deref()
            .filter(|_| contact.phone_verified_at.is_some())
            .map(crate::service::factors::contact_codes::masked),
        id: contact.id,
        username: contact.username,
        email: contact.email,
    }
}

#[derive(Serialize)]
struct AllContactsPage {
    #[serde(flatten)]
    frame: Frame,
    search: String,
    without_factor: bool,
    contacts: Vec<ContactRow>,
    total: i64,
    page: i64,
    pages: i64,
    previous_href: Option<String>,
    next_href: Option<String>,
    notice: Option<String>,
}

impl Page for AllContactsPage {
    const TEMPLATE: &'static str = "admin/contacts.html";
}

/// A link to another page of this listing.
fn listing_href(account_id: &str, search: &str, without_factor: bool, page: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("account", account_id);
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    if without_factor {
        query.append_pair("without", "1");
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    format!("{ALL_PATH}?{}", query.finish())
}

pub async fn show_all(
    State(app): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    let account = admin.account(&app, param(&params, "account")).await?;
    let search = param(&params, "q").unwrap_or_default().trim().to_string();
    let without_factor = param(&params, "without") == Some("1");
    let page = page_number(&params, 1_000_000);
    let (contacts, total) = app
        .store
        .contacts(&ContactQuery {
            account_id: &account.id,
            search: &search,
            without_factor,
            limit: PAGE_SIZE,
            offset: (page - 1) * PAGE_SIZE,
        })
        .await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let now = app.clock.now();
    // After a reset, name the member (only one of this account).
    let notice = match param(&params, "reset") {
        Some(id) => app
            .store
            .user_by_id(id)
            .await?
            .filter(|u| u.account_id == account.id)
            .map(|u| {
                format!(
                    "{}'s two-factor authentication was reset. They will set it up again \
                     at their next sign-in.",
                    u.username
                )
            }),
        None => None,
    };
    let href = |p| listing_href(&account.id, &search, without_factor, p);
    let (previous_href, next_href) = (
        (page > 1).then(|| href(page - 1)),
        (page < pages).then(|| href(page + 1)),
    );
    admin
        .render(&app, &account, "contacts", |frame| AllContactsPage {
            previous_href,
            next_href,
            contacts: contacts
                .into_iter()
                .map(|c| contact_row(c, &admin.user, now))
                .collect(),
            frame,
            search,
            without_factor,
            total,
            page,
            pages,
            notice,
        })
        .await
}

#[derive(Serialize)]
struct ConfirmResetPage {
    #[serde(flatten)]
    frame: Frame,
    member_id: String,
    username: String,
    email: String,
    back_href: String,
}

impl Page for ConfirmResetPage {
    const TEMPLATE: &'static str = "admin/confirm_reset.html";
}

/// The confirm step of **Reset 2FA**: **Yes** posts the reset, **No** goes back.
pub async fn confirm_reset(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let member = console::member_to_change(&app, &admin.actor(), &id).await?;
    let account = admin.account(&app, Some(&member.account_id)).await?;
    admin
        .render(&app, &account, "contacts", |frame| ConfirmResetPage {
            frame,
            back_href: listing_href(&account.id, "", false, 1),
            member_id: member.id,
            username: member.username,
            email: member.email,
        })
        .await
}

/// **Reset 2FA**, confirmed: the same reset as `gatehouse user reset-mfa`.
pub async fn submit_reset(
    State(app): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let member = console::reset_2fa(&app, &admin.actor(), &id).await?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("account", &member.account_id);
    query.append_pair("reset", &member.id);
    Ok(see_other(&format!("{ALL_PATH}?{}", query.finish())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(totp: i64, keys: i64, backup: i64) -> Contact {
        Contact {
            id: "u".into(),
            username: "u".into(),
            email: "u@example.com".into(),
            is_admin: 0,
            is_disabled: 0,
            must_enroll: 0,
            last_sign_in_at: None,
            totp,
            totp_last_used_at: None,
            backup_codes_left: backup,
            backup_code_last_used_at: None,
            keys,
            key_last_used_at: None,
            email_verified_at: None,
            phone: None,
            phone_verified_at: None,
            locked_until: None,
        }
    }

    #[test]
    fn factors_read_as_words() {
        assert_eq!(factor_summary(&contact(0, 0, 0)), "None");
        assert_eq!(
            factor_summary(&contact(1, 0, 10)),
            "Authenticator app, 10 backup codes"
        );
        assert_eq!(
            factor_summary(&contact(0, 1, 1)),
            "1 security key, 1 backup code"
        );
        assert_eq!(
            factor_summary(&contact(1, 2, 9)),
            "Authenticator app, 2 security keys, 9 backup codes"
        );
    }

    #[test]
    fn listing_links_keep_the_search() {
        assert_eq!(
            listing_href("acct-1", "mia & co", true, 3),
            "/admin/contacts/all?account=acct-1&q=mia+%26+co&without=1&page=3"
        );
        assert_eq!(
            listing_href("acct-1", "", false, 1),
            "/admin/contacts/all?account=acct-1"
        );
    }
}
