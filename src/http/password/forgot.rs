//! `/password/forgot`: "Forgot your password?" asks for a username or an
//! email address and answers the same whether or not one matches
//! (`service::password::reset`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form::{bounded, Form};
use crate::http::render::Page;
use crate::service::password::reset::{self, Requested};

pub const PATH: &str = "/password/forgot";

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(show).post(submit))
}

#[derive(Serialize, Default)]
struct ForgotPage {
    csrf_token: String,
    identifier: String,
    sent: bool,
    error: Option<&'static str>,
}

impl Page for ForgotPage {
    const TEMPLATE: &'static str = "password/forgot.html";
}

fn render(
    app: &AppState,
    headers: &HeaderMap,
    mut page: ForgotPage,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    page.csrf_token = csrf_token;
    let mut response = page.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

async fn show(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    render(&app, &headers, ForgotPage::default(), StatusCode::OK)
}

/// The request form as posted.
#[derive(Deserialize)]
struct ForgotForm {
    csrf_token: Option<String>,
    identifier: Option<String>,
}

async fn submit(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    let identifier = bounded(&form.identifier).unwrap_or_default().trim();
    let mut page = ForgotPage {
        identifier: identifier.to_string(),
        ..ForgotPage::default()
    };
    if !cookies::csrf_ok(&app, &headers, bounded(&form.csrf_token)) {
        page.error = Some("This form has expired. Please submit it again.");
        return render(&app, &headers, page, StatusCode::FORBIDDEN);
    }
    if identifier.is_empty() {
        page.error = Some("Enter your username or email address.");
        return render(&app, &headers, page, StatusCode::BAD_REQUEST);
    }
    match reset::request(&app, identifier, &ip.to_string()).await? {
        Requested::Accepted => {
            page.sent = true;
            render(&app, &headers, page, StatusCode::OK)
        }
        Requested::Throttled => {
            page.error =
                Some("Too many reset requests from this address. Wait an hour, then try again.");
            render(&app, &headers, page, StatusCode::TOO_MANY_REQUESTS)
        }
    }
}
