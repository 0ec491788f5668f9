//! Contacts: the members of an account with what protects their sign-in,
//! and **Reset 2FA** for a member who lost their factor.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::frame::{param, query, Admin, Frame};
use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::{when, Page};
use crate::service::console;
use crate::store::{Contact, ContactKey, ContactQuery, Seek, User};

pub const PATH: &str = "/admin/contacts";
pub const ALL_PATH: &str = "/admin/contacts/all";
const PAGE_SIZE: i64 = 25;
/// A search counts its matches up to this many, then says "more than".
const COUNT_CAP: i64 = 1_000;

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
    /// How many match, in words ("1,000+" past the cap of a search).
    total: String,
    one: bool,
    previous_href: Option<String>,
    next_href: Option<String>,
    notice: Option<String>,
}

impl Page for AllContactsPage {
    const TEMPLATE: &'static str = "admin/contacts.html";
}

/// A link to another page of this listing, by where it starts.
fn listing_href(
    account_id: &str,
    search: &str,
    without_factor: bool,
    from: &Seek<ContactKey>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("account", account_id);
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    if without_factor {
        query.append_pair("without", "1");
    }
    if let Some((name, key)) = from.param(("after", "before")) {
        query.append_pair(name, &key);
    }
    format!("{ALL_PATH}?{}", query.finish())
}

/// A count with its thousands grouped: 200000 as "200,000".
fn grouped(count: i64) -> String {
    let digits = count.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if count < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
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
    let from = Seek::from_params(
        param(&params, "after"),
        param(&params, "before"),
        ContactKey::parse,
    );
    let listing = ContactQuery {
        account_id: &account.id,
        search: &search,
        without_factor,
        from,
        limit: PAGE_SIZE,
    };
    let page = app.store.contacts(&listing).await?;
    // Everyone (or everyone without a factor) is a number kept with the
    // account; a search counts its matches, up to a cap.
    let total = if search.is_empty() {
        let counts = app.store.member_counts(&account.id).await?;
        if without_factor {
            counts.without_factor
        } else {
            counts.members
        }
    } else {
        app.store.count_contacts(&listing, COUNT_CAP).await?
    };
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
    let href = |from| listing_href(&account.id, &search, without_factor, &from);
    let previous_href = page
        .rows
        .first()
        .filter(|_| page.earlier)
        .map(|c| href(Seek::Before(ContactKey::of(c))));
    let next_href = page
        .rows
        .last()
        .filter(|_| page.later)
        .map(|c| href(Seek::After(ContactKey::of(c))));
    let total_words = if !search.is_empty() && total >= COUNT_CAP {
        format!("{}+", grouped(COUNT_CAP))
    } else {
        grouped(total)
    };
    admin
        .render(&app, &account, "contacts", |frame| AllContactsPage {
            previous_href,
            next_href,
            contacts: page
                .rows
                .into_iter()
                .map(|c| contact_row(c, &admin.user, now))
                .collect(),
            frame,
            search,
            without_factor,
            total: total_words,
            one: total == 1,
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
            back_href: listing_href(&account.id, "", false, &Seek::First),
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
            listed_key: "u".into(),
        }
    }

    fn key(username: &str) -> ContactKey {
        ContactKey {
            key: username.into(),
            id: format!("u-{username}"),
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
            listing_href("acct-1", "mia & co", true, &Seek::After(key("mia+1"))),
            "/admin/contacts/all?account=acct-1&q=mia+%26+co&without=1&after=u-mia%2B1%3Amia%2B1"
        );
        assert_eq!(
            listing_href("acct-1", "", false, &Seek::Before(key("bo"))),
            "/admin/contacts/all?account=acct-1&before=u-bo%3Abo"
        );
        assert_eq!(
            listing_href("acct-1", "", false, &Seek::First),
            "/admin/contacts/all?account=acct-1"
        );
    }

    #[test]
    fn counts_group_their_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(200_000), "200,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-1200), "-1,200");
    }
}
