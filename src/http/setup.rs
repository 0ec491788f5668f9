//! First start: a one-time link (`/setup?token=...`) that creates the first
//! account and its administrator through a web form.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::{password, secret};
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::store::{self, NewAccount, NewUser};

pub const PATH: &str = "/setup";
const LINK_LIFETIME_SECS: i64 = 24 * 3600;
pub const MIN_PASSWORD_LEN: usize = 8;
pub const DEFAULT_FACTORS: &str = "totp,webauthn";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(show_setup).post(submit_setup))
}

/// On an empty database, a fresh setup link (replacing any earlier one).
pub async fn setup_link(app: &AppState) -> Result<Option<String>, store::Error> {
    if app.store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = secret::random_token(32);
    let now = app.clock.now();
    app.store
        .put_setup_token(&secret::token_hash(&token), now, now + LINK_LIFETIME_SECS)
        .await?;
    Ok(Some(format!("{}{PATH}?token={token}", app.config.issuer())))
}

#[derive(Serialize, Default)]
struct SetupPage {
    csrf_token: String,
    token: String,
    account: String,
    username: String,
    email: String,
    min_password_len: usize,
    error: Option<&'static str>,
}

impl Page for SetupPage {
    const TEMPLATE: &'static str = "setup/setup.html";
}

#[derive(Serialize)]
struct DonePage {
    account: String,
    username: String,
}

impl Page for DonePage {
    const TEMPLATE: &'static str = "setup/done.html";
}

fn used_link() -> PageError {
    PageError::NotFound("This setup link is not valid: it has expired or was already used.".into())
}

async fn show_setup(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = Params::parse(query.unwrap_or_default().as_bytes());
    let token = query
        .get("token")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_string();
    if token.len() > 64
        || !app
            .store
            .setup_token_is_live(&secret::token_hash(&token), app.clock.now())
            .await?
    {
        return Err(used_link());
    }
    let page = SetupPage {
        token,
        min_password_len: MIN_PASSWORD_LEN,
        ..SetupPage::default()
    };
    render(&app, &headers, page, StatusCode::OK)
}

fn render(
    app: &AppState,
    headers: &HeaderMap,
    mut page: SetupPage,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (token, cookie) = cookies::csrf_token(app, headers);
    page.csrf_token = token;
    let mut response = page.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

async fn submit_setup(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Params::parse(&body);
    let field = |name: &str| {
        form.get(name)
            .ok()
            .flatten()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let token = field("token");
    let mut page = SetupPage {
        token: token.clone(),
        account: field("account"),
        username: field("username"),
        email: field("email"),
        min_password_len: MIN_PASSWORD_LEN,
        ..SetupPage::default()
    };
    let password = form
        .get("password")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_string();
    if !cookies::csrf_ok(&app, &headers, form.get("csrf_token").ok().flatten()) {
        page.error = Some("This form has expired. Please submit it again.");
        return render(&app, &headers, page, StatusCode::FORBIDDEN);
    }
    let now = app.clock.now();
    let token_hash = secret::token_hash(&token);
    if !app.store.setup_token_is_live(&token_hash, now).await? {
        return Err(used_link());
    }
    page.error = if page.account.is_empty() || page.account.len() > 100 {
        Some("Give the account a name of at most 100 characters.")
    } else if page.username.is_empty() || page.username.len() > 100 {
        Some("Choose a username of at most 100 characters.")
    } else if !page.email.contains('@') || page.email.len() > 254 {
        Some("Enter a valid email address.")
    } else if password.chars().count() < MIN_PASSWORD_LEN || password.len() > 1024 {
        Some("The password must have at least 8 characters.")
    } else {
        None
    };
    if page.error.is_some() {
        return render(&app, &headers, page, StatusCode::BAD_REQUEST);
    }
    let cost = app.config.hash_cost();
    let password_hash = app
        .hash_blocking(move || password::hash(&password, cost))
        .await
        .map_err(|e| PageError::Internal(format!("hashing: {e}")))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let factors: Vec<String> = DEFAULT_FACTORS.split(',').map(str::to_string).collect();
    let account_id = secret::random_id();
    let user_id = secret::random_id();
    let outcome = app
        .store
        .complete_setup(
            &token_hash,
            NewAccount {
                id: &account_id,
                name: &page.account,
                require_mfa: false,
                factors: &factors,
                now,
            },
            NewUser {
                id: &user_id,
                account_id: &account_id,
                username: &page.username,
                email: &page.email,
                password_hash: &password_hash,
                is_admin: true,
                is_operator: true,
                now,
            },
        )
        .await;
    match outcome {
        Ok(true) => {
            tracing::info!(user_id = %user_id, "first administrator created");
            DonePage {
                account: page.account,
                username: page.username,
            }
            .render(&app)
        }
        Ok(false) => Err(used_link()),
        Err(store::Error::Duplicate(_)) => {
            page.error = Some("That name is taken; choose another.");
            render(&app, &headers, page, StatusCode::BAD_REQUEST)
        }
        Err(err) => Err(err.into()),
    }
}
