//! `/admin`: the console's front page for the selected account.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::frame::{param, query, Admin, Frame};
use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::Page;

#[derive(Serialize)]
struct OverviewPage {
    #[serde(flatten)]
    frame: Frame,
    require_mfa: bool,
    members: i64,
    without_factor: i64,
}

impl Page for OverviewPage {
    const TEMPLATE: &'static str = "admin/overview.html";
}

pub async fn show(
    State(app): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    let account = admin.account(&app, param(&params, "account")).await?;
    let counts = app.store.member_counts(&account.id).await?;
    admin
        .render(&app, &account, "overview", |frame| OverviewPage {
            frame,
            require_mfa: account.require_mfa,
            members: counts.members,
            without_factor: counts.without_factor,
        })
        .await
}

pub const FIND_PATH: &str = "/admin/find";

#[derive(Serialize)]
struct FoundRow {
    username: String,
    email: String,
    account_name: String,
    /// All Contacts of the member's account, searched for them.
    switch_href: String,
}

#[derive(Serialize)]
struct FindPage {
    #[serde(flatten)]
    frame: Frame,
    search: String,
    found: Vec<FoundRow>,
}

impl Page for FindPage {
    const TEMPLATE: &'static str = "admin/find.html";
}

/// Finds a member in any account (operators), with a link that switches to
/// the account the member belongs to; an administrator searches their own.
pub async fn show_find(
    State(app): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    let search = param(&params, "q").unwrap_or_default().trim().to_string();
    let contacts_of = |account_id: &str, username: &str| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("account", account_id);
        query.append_pair("q", username);
        format!("{}?{}", super::contacts::ALL_PATH, query.finish())
    };
    if !admin.user.is_operator {
        return Ok(see_other(&contacts_of(&admin.user.account_id, &search)));
    }
    let found = if search.is_empty() {
        Vec::new()
    } else {
        app.store
            .find_members(&search, 50)
            .await?
            .into_iter()
            .map(|m| FoundRow {
                switch_href: contacts_of(&m.account_id, &m.username),
                username: m.username,
                email: m.email,
                account_name: m.account_name,
            })
            .collect()
    };
    let account = admin.account(&app, None).await?;
    admin
        .render(&app, &account, "overview", |frame| FindPage {
            frame,
            search,
            found,
        })
        .await
}
