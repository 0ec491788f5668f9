//! `/admin`: the console's front page for the selected account.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::{param, query, Admin, Frame};
use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::render::Page;
use crate::store::ContactQuery;

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
    let count = |without_factor| ContactQuery {
        account_id: &account.id,
        search: "",
        without_factor,
        limit: 0,
        offset: 0,
    };
    let (_, members) = app.store.contacts(&count(false)).await?;
    let (_, without_factor) = app.store.contacts(&count(true)).await?;
    let (frame, cookie) = admin.frame(&app, &account, "overview").await?;
    let mut response = OverviewPage {
        frame,
        require_mfa: account.require_mfa,
        members,
        without_factor,
    }
    .render(&app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}
