//! First start: a one-time link (`/setup?token=...`) that creates the first
//! account and its administrator through a web form (`service::setup`).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form::Form;
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::service::setup::{self, FirstAdministrator, SetupError, SetupRefusal};

pub use crate::service::setup::PATH;

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(show_setup).post(submit_setup))
}

#[derive(Serialize, Default)]
struct SetupPage {
    csrf_token: String,
    token: String,
    account: String,
    username: String,
    email: String,
    min_password_len: usize,
    error: Option<String>,
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
    let token = query.get("token").ok().flatten().unwrap_or_default();
    if !setup::link_is_live(&app, token).await? {
        return Err(used_link());
    }
    let token = token.to_string();
    let page = SetupPage {
        token,
        min_password_len: app.config.min_password_length,
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

/// The setup form as posted.
#[derive(Deserialize)]
struct SetupForm {
    csrf_token: Option<String>,
    token: Option<String>,
    account: Option<String>,
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

async fn submit_setup(
    State(app): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, PageError> {
    let trimmed = |field: &Option<String>| field.as_deref().unwrap_or_default().trim().to_string();
    let mut page = SetupPage {
        token: trimmed(&form.token),
        account: trimmed(&form.account),
        username: trimmed(&form.username),
        email: trimmed(&form.email),
        min_password_len: app.config.min_password_length,
        ..SetupPage::default()
    };
    if !cookies::csrf_ok(&app, &headers, form.csrf_token.as_deref()) {
        page.error = Some("This form has expired. Please submit it again.".into());
        return render(&app, &headers, page, StatusCode::FORBIDDEN);
    }
    let admin = FirstAdministrator {
        account: &page.account,
        username: &page.username,
        email: &page.email,
        password: form.password.unwrap_or_default(),
    };
    let refusal = match setup::complete(&app, &page.token, admin).await {
        Ok(()) => {
            let done = DonePage {
                account: page.account,
                username: page.username,
            };
            return done.render(&app);
        }
        Err(SetupError::Store(err)) => return Err(err.into()),
        Err(SetupError::Refused(SetupRefusal::UsedLink)) => return Err(used_link()),
        Err(SetupError::Refused(refusal)) => refusal,
    };
    page.error = Some(words(refusal));
    render(&app, &headers, page, StatusCode::BAD_REQUEST)
}

/// What the setup form says about a refusal.
fn words(refusal: SetupRefusal) -> String {
    let words = match refusal {
        SetupRefusal::AccountName => "Give the account a name of at most 100 characters.",
        SetupRefusal::Username => "Choose a username of at most 100 characters.",
        SetupRefusal::Email => "Enter a valid email address.",
        SetupRefusal::Password(fault) => return fault.words(),
        SetupRefusal::Taken | SetupRefusal::UsedLink => "That name is taken; choose another.",
    };
    words.to_string()
}
