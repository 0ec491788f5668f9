//! The signed-in user of the account pages (`SignedIn`), and what every
//! change to a factor goes through: the rule (`may_change`), the password
//! and code of a removal, and the raised session after an addition.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form::{self};
use crate::http::redirect::see_other;
use crate::service::factors::contact_codes::{self, Purpose};
use crate::service::factors::{check_password, gated, Check, Method, PasswordCheck, Refusal};
use crate::store::{Session, User};

/// The account page.
pub const PATH: &str = "/account";
pub const EXPIRED_FORM: &str = "This form has expired. Please try again.";

/// The signed-in user of this browser, or a redirect to sign in and come
/// back to `back_to` (a local path).
pub async fn signed_in(
    app: &AppState,
    headers: &HeaderMap,
    back_to: &str,
) -> Result<Result<(Session, User), Response>, PageError> {
    let to_login = || {
        let next: String = form_urlencoded::byte_serialize(back_to.as_bytes()).collect();
        see_other(&format!("/login?next={next}"))
    };
    let Some(session) = cookies::current_session(app, headers).await? else {
        return Ok(Err(to_login()));
    };
    match app
        .store
        .user_by_id(&session.user_id)
        .await?
        .filter(|u| !u.is_disabled)
    {
        Some(user) => Ok(Ok((session, user))),
        None => Ok(Err(to_login())),
    }
}

/// Whether the password was re-entered in this session recently enough to change factors.
pub fn recently_reauthenticated(app: &AppState, session: &Session) -> bool {
    crate::service::factors::binding::session_may_bind(app, session)
}

const CONFIRM_PASSWORD: &str = "Confirm your password first (below), then try again.";
const VERIFY_FIRST: &str = "Verify with your second factor first (below), then try again.";

/// Whether this session has the highest level the user's factors reach
/// (`level::Factors::met_by`), as a change to a factor needs.
pub async fn session_meets_factors(
    app: &AppState,
    signed_in: &SignedIn,
) -> Result<bool, PageError> {
    let factors = crate::service::factors::level::of(app, &signed_in.user).await?;
    Ok(factors.met_by(signed_in.session.acr, &signed_in.session.amr))
}

/// The refusal, if this session may not change the user's factors now: the
/// password must be recent, and a user with a factor must have given it.
pub async fn may_change(
    app: &AppState,
    signed_in: &SignedIn,
) -> Result<Option<&'static str>, PageError> {
    if !session_meets_factors(app, signed_in).await? {
        return Ok(Some(VERIFY_FIRST));
    }
    if !recently_reauthenticated(app, &signed_in.session) {
        return Ok(Some(CONFIRM_PASSWORD));
    }
    Ok(None)
}

/// The form that turns a factor off: the password and a fresh code.
#[derive(Deserialize)]
pub struct PasswordAndCode {
    pub password: Option<String>,
    pub code: Option<String>,
}

/// Checks the password and a fresh code for `purpose`, as the forms that
/// turn a factor off carry them (the code behind the second step's
/// lock-out): `None` when both hold, or the page that says which did not.
pub async fn password_and_code(
    app: &AppState,
    signed_in: &SignedIn,
    form: &PasswordAndCode,
    ip: &str,
    purpose: Purpose,
    wrong_code: &'static str,
) -> Result<Option<Response>, PageError> {
    let user = &signed_in.user;
    let password = form.password.clone().unwrap_or_default();
    if check_password(app, &user.username, Some(user), password, Some(ip)).await?
        != PasswordCheck::Correct
    {
        let message = "That password is not right.";
        return Ok(Some(
            signed_in
                .refuse(app, message, StatusCode::UNAUTHORIZED)
                .await?,
        ));
    }
    let code = form.code.as_deref().unwrap_or_default();
    let check = gated(app, user, Some(ip), |_| async move {
        Ok(match contact_codes::take(app, user, purpose, code).await? {
            Some(_) => Ok(Method::EmailCode { counted: false }),
            None => Err(Refusal::Wrong),
        })
    })
    .await?;
    Ok(match check {
        Check::Accepted(_) => None,
        Check::Locked { until } => Some(crate::http::login::locked::locked(app, until)?),
        Check::Refused(_) => Some(
            signed_in
                .refuse(app, wrong_code, StatusCode::UNAUTHORIZED)
                .await?,
        ),
    })
}

/// After a new factor is proven from the account page: the session is raised
/// to `aal2` with `amr`; the first second factor's backup codes are shown
/// once, otherwise the account page says what was `added`.
pub async fn after_new_factor(
    app: &AppState,
    signed_in: &SignedIn,
    amr: &[String],
    first: bool,
    ip: &str,
    added: &str,
) -> Result<Response, PageError> {
    let raised = cookies::raise_session(app, &signed_in.session.sid, amr).await?;
    let mut response = if first {
        let codes =
            crate::service::factors::regenerate_backup_codes(app, &signed_in.user, Some(ip))
                .await?;
        let (csrf_token, csrf_cookie) = cookies::csrf_token(app, signed_in.headers());
        let page = crate::http::login::enroll::BackupCodesPage::new(
            codes,
            PATH.to_string(),
            csrf_token,
            true,
        );
        let mut response = crate::http::render::Page::render(&page, app)?;
        cookies::attach(&mut response, csrf_cookie);
        response
    } else {
        see_other(&format!("{}?added={added}", PATH))
    };
    cookies::attach(&mut response, raised.map(|(_, cookie)| cookie));
    Ok(response)
}

/// The signed-in user of this browser, for the account pages; a visitor is
/// sent to sign in first.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        match signed_in(app, &parts.headers, PATH)
            .await
            .map_err(IntoResponse::into_response)?
        {
            Ok((session, user)) => Ok(SignedIn {
                session,
                user,
                headers: parts.headers.clone(),
            }),
            Err(redirect) => Err(redirect),
        }
    }
}

impl SignedIn {
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// A form posted on the account pages, as a handler's last extractor: the
/// signed-in user and the form `F`, when its CSRF token holds; otherwise the
/// account page saying the form expired (a visitor is sent to sign in).
pub struct Posted<F> {
    pub signed_in: SignedIn,
    pub form: F,
}

/// A posted form that changes the user's factors: as [`Posted`], and the
/// session may change them (`may_change`: the password recent, the second
/// factor given); otherwise the account page saying why not.
pub struct Changing<F> {
    pub signed_in: SignedIn,
    pub form: F,
}

impl<F: DeserializeOwned> FromRequest<AppState> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, app).await?;
        let (headers, body) = form::split(Request::from_parts(parts, body), app).await?;
        if !form::csrf_holds(app, &headers, &body) {
            let page = signed_in.refuse(app, EXPIRED_FORM, StatusCode::FORBIDDEN);
            return Err(page.await.into_response());
        }
        let form = form::read(&body).map_err(IntoResponse::into_response)?;
        Ok(Posted { signed_in, form })
    }
}

impl<F: DeserializeOwned + Send> FromRequest<AppState> for Changing<F> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Response> {
        let Posted { signed_in, form } = Posted::from_request(request, app).await?;
        let refusal = may_change(app, &signed_in)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(refusal) = refusal {
            let page = signed_in.refuse(app, refusal, StatusCode::FORBIDDEN);
            return Err(page.await.into_response());
        }
        Ok(Changing { signed_in, form })
    }
}
