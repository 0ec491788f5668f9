//! The signed-in administrator of the console (`Admin`: an `aal2` session,
//! or the second step or an enrolment first) and the frame of every page:
//! the account switcher, paging and form fields.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::admin_rights::{self, Actor, Denied};
use crate::auth::login_flow;
use crate::http::account::session::signed_in;
use crate::http::cookies::{self, PendingTarget};
use crate::http::error::PageError;
use crate::http::login::pending;
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::service::console::{self, ConsoleError};
use crate::service::factors;
use crate::store::{Session, Tenant, User};

pub const PATH: &str = "/admin";

/// A signed-in administrator or operator with an `aal2` session.
pub struct Admin {
    pub session: Session,
    pub user: User,
    pub ip: Option<String>,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        match admit(parts, app).await {
            Ok(admitted) => admitted,
            Err(error) => Err(error.into_response()),
        }
    }
}

/// Where to come back to after signing in: this page for a GET, the console's
/// front page otherwise (a form is not replayed).
fn back_to(parts: &Parts) -> String {
    let here = parts.uri.path_and_query().map(|p| p.as_str());
    match parts.method {
        axum::http::Method::GET => pending::local_path(here).unwrap_or_else(|| PATH.into()),
        _ => PATH.into(),
    }
}

async fn admit(parts: &Parts, app: &AppState) -> Result<Result<Admin, Response>, PageError> {
    let back_to = back_to(parts);
    let (session, user) = match signed_in(app, &parts.headers, &back_to).await? {
        Ok(found) => found,
        Err(to_login) => return Ok(Err(to_login)),
    };
    if !admin_rights::may_enter(&user) {
        return Err(PageError::Forbidden(
            Denied::NotAdministrator.message().into(),
        ));
    }
    let by_device = session
        .amr
        .iter()
        .any(|m| m == login_flow::REMEMBERED_DEVICE);
    if session.acr != Acr::Aal2 || by_device {
        // The console needs aal2 with a factor given in this session (a
        // remembered device stands in for none): the user's second step, or where the
        // session has given every factor the user has (none, or an email
        // code the account does not count), one that reaches aal2 enrolled
        // now, which needs a recent password like every binding of a factor.
        let target = PendingTarget {
            request_id: None,
            next_path: Some(&back_to),
            session_sid: Some(&session.sid),
        };
        let factors = factors::level::of(app, &user).await?;
        if factors.met_by(session.acr, &session.amr) {
            let next: String = form_urlencoded::byte_serialize(back_to.as_bytes()).collect();
            let login_again = format!("/login?next={next}");
            let response =
                pending::enrol_from_session(app, &user, &session, target, &login_again).await?;
            return Ok(Err(response));
        }
        return Ok(Err(pending::to_second_factor(app, &user.id, target).await?));
    }
    let ip = Some(crate::http::client_ip::of_parts(parts, &app.trusted_proxies).to_string());
    Ok(Ok(Admin {
        session,
        user,
        ip,
        headers: parts.headers.clone(),
    }))
}

/// The account switcher's entries.
#[derive(Serialize)]
pub struct AccountChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// What every console page shows around its content.
#[derive(Serialize)]
pub struct Frame {
    pub csrf_token: String,
    pub admin: String,
    pub is_operator: bool,
    pub account_id: String,
    pub account_name: String,
    pub accounts: Vec<AccountChoice>,
    /// The console section this page belongs to, for the navigation.
    pub section: &'static str,
}

impl Admin {
    /// Who acts, for the console's operations.
    pub fn actor(&self) -> Actor {
        Actor::of_user(&self.user, self.ip.clone())
    }

    /// The account a page is about: `requested` (a query's `account`) or the
    /// administrator's own; refused unless they administer it.
    pub async fn account(
        &self,
        app: &AppState,
        requested: Option<&str>,
    ) -> Result<Tenant, PageError> {
        let id = requested
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.user.account_id);
        Ok(console::account(app, &self.actor(), id).await?)
    }

    /// The frame of a page about `account`, with the cookie of a new CSRF token if one was made.
    async fn frame(
        &self,
        app: &AppState,
        account: &Tenant,
        section: &'static str,
    ) -> Result<(Frame, Option<axum::http::HeaderValue>), PageError> {
        let accounts = console::accounts(app, &self.actor()).await?;
        let (csrf_token, cookie) = cookies::csrf_token(app, &self.headers);
        let frame = Frame {
            csrf_token,
            admin: self.user.username.clone(),
            is_operator: self.user.is_operator,
            account_id: account.id.clone(),
            account_name: account.name.clone(),
            accounts: accounts
                .into_iter()
                .map(|a| AccountChoice {
                    selected: a.id == account.id,
                    id: a.id,
                    name: a.name,
                })
                .collect(),
            section,
        };
        Ok((frame, cookie))
    }

    /// A console page about `account` in `section`: `page` gets the frame, and
    /// the response the CSRF cookie when a new token was made.
    pub async fn render<P: Page>(
        &self,
        app: &AppState,
        account: &Tenant,
        section: &'static str,
        page: impl FnOnce(Frame) -> P,
    ) -> Result<Response, PageError> {
        let (frame, cookie) = self.frame(app, account, section).await?;
        let mut response = page(frame).render(app)?;
        cookies::attach(&mut response, cookie);
        Ok(response)
    }

    /// A submitted form, if its CSRF token matches this browser's.
    pub fn form(&self, app: &AppState, body: &[u8]) -> Result<Params, PageError> {
        let form = Params::parse(body);
        if cookies::csrf_ok(app, &self.headers, form.get("csrf_token").ok().flatten()) {
            Ok(form)
        } else {
            Err(PageError::Forbidden(
                "This form has expired. Go back, reload the page and try again.".into(),
            ))
        }
    }
}

/// The query of a console page, parsed leniently: a repeated or odd parameter is ignored.
pub fn query(raw: Option<String>) -> Params {
    Params::parse(raw.unwrap_or_default().as_bytes())
}

/// A single-valued parameter, or `None` when absent, repeated or overlong.
pub fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).ok().flatten().filter(|v| v.len() <= 200)
}

impl From<ConsoleError> for PageError {
    fn from(err: ConsoleError) -> Self {
        match err {
            ConsoleError::Denied(denied) => PageError::Forbidden(denied.message().into()),
            ConsoleError::NotFound(what) => PageError::NotFound(what.into()),
            ConsoleError::Invalid(why) | ConsoleError::Duplicate(why) => PageError::BadRequest(why),
            ConsoleError::Store(e) => e.into(),
            ConsoleError::Hashing(e) => PageError::Internal(e),
        }
    }
}
