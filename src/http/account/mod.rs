//! The user's own security page at `/account`: their second factors, backup
//! codes, and sessions.

pub mod email_codes;
pub mod factors;
pub mod keys;
pub mod phone;
pub mod security;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::oidc::authorize::see_other;
use crate::oidc::params::Params;
use crate::service::factors::contact_codes::{self, Purpose};
use crate::service::factors::{check_password, gated, Check, Method, PasswordCheck, Refusal};
use crate::store::{Session, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(security::PATH, get(security::show_account))
        .route("/account/reauth", post(security::submit_reauth))
        .route("/account/step-up", post(security::submit_step_up))
        .route(
            "/account/sessions/sign-out-others",
            post(security::submit_sign_out_others),
        )
        .route(
            "/account/totp",
            get(factors::show_enable_totp).post(factors::submit_enable_totp),
        )
        .route("/account/totp/disable", post(factors::submit_disable_totp))
        .route("/account/backup-codes", post(factors::submit_regenerate))
        .route(keys::NEW_PATH, post(keys::submit_new_key))
        .route(email_codes::ON_PATH, post(email_codes::submit_turn_on))
        .route(email_codes::CONFIRM_PATH, post(email_codes::submit_confirm))
        .route(
            email_codes::OFF_CODE_PATH,
            post(email_codes::submit_off_code),
        )
        .route(email_codes::OFF_PATH, post(email_codes::submit_turn_off))
        .route(phone::PATH, post(phone::submit_number))
        .route(phone::CONFIRM_PATH, post(phone::submit_confirm))
        .route(phone::REMOVE_CODE_PATH, post(phone::submit_remove_code))
        .route(phone::REMOVE_PATH, post(phone::submit_remove))
        .route(keys::FINISH_PATH, post(keys::submit_finish_key))
        .route(keys::REMOVE_PATH, post(keys::submit_remove_key))
        .route(
            "/account/sessions/sign-out",
            post(security::submit_sign_out_session),
        )
        .route(
            "/account/sessions/sign-out-everywhere",
            post(security::submit_sign_out_everywhere),
        )
}

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
pub async fn session_meets_factors(app: &AppState, account: &Account) -> Result<bool, PageError> {
    let factors = crate::service::factors::level::of(app, &account.user).await?;
    Ok(factors.met_by(&account.session.acr, &account.session.amr))
}

/// The refusal, if this session may not change the user's factors now: the
/// password must be recent, and a user with a factor must have given it.
pub async fn may_change(
    app: &AppState,
    account: &Account,
) -> Result<Option<&'static str>, PageError> {
    if !session_meets_factors(app, account).await? {
        return Ok(Some(VERIFY_FIRST));
    }
    if !recently_reauthenticated(app, &account.session) {
        return Ok(Some(CONFIRM_PASSWORD));
    }
    Ok(None)
}

/// Checks the password and a fresh code for `purpose`, as the forms that
/// turn a factor off carry them (the code behind the second step's
/// lock-out): `None` when both hold, or the page that says which did not.
pub async fn password_and_code(
    app: &AppState,
    account: &Account,
    form: &Params,
    ip: &str,
    purpose: Purpose,
    wrong_code: &'static str,
) -> Result<Option<Response>, PageError> {
    let user = &account.user;
    let password = form
        .get("password")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_string();
    if check_password(app, &user.username, Some(user), password, Some(ip)).await?
        != PasswordCheck::Correct
    {
        let message = "That password is not right.";
        return Ok(Some(
            account
                .refuse(app, message, StatusCode::UNAUTHORIZED)
                .await?,
        ));
    }
    let code = form.get("code").ok().flatten().unwrap_or_default();
    let check = gated(app, user, Some(ip), |_| async move {
        Ok(match contact_codes::take(app, user, purpose, code).await? {
            Some(_) => Ok(Method::EmailCode { counted: false }),
            None => Err(Refusal::Wrong),
        })
    })
    .await?;
    Ok(match check {
        Check::Accepted(_) => None,
        Check::Locked { until } => Some(crate::http::login::second_factor::locked(app, until)?),
        Check::Refused(_) => Some(
            account
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
    account: &Account,
    amr: &[String],
    first: bool,
    ip: &str,
    added: &str,
) -> Result<Response, PageError> {
    let raised = cookies::raise_session(app, &account.session.sid, amr).await?;
    let mut response = if first {
        let codes =
            crate::service::factors::regenerate_backup_codes(app, &account.user, Some(ip)).await?;
        let (csrf_token, csrf_cookie) = cookies::csrf_token(app, account.headers());
        let page = crate::http::login::enroll::BackupCodesPage::new(
            codes,
            security::PATH.to_string(),
            csrf_token,
            true,
        );
        let mut response = crate::http::render::Page::render(&page, app)?;
        cookies::attach(&mut response, csrf_cookie);
        response
    } else {
        see_other(&format!("{}?added={added}", security::PATH))
    };
    cookies::attach(&mut response, raised.map(|(_, cookie)| cookie));
    Ok(response)
}

/// The signed-in user of this browser, for the account pages; a visitor is
/// sent to sign in first.
pub struct Account {
    pub session: Session,
    pub user: User,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for Account {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        match signed_in(app, &parts.headers, security::PATH)
            .await
            .map_err(IntoResponse::into_response)?
        {
            Ok((session, user)) => Ok(Account {
                session,
                user,
                headers: parts.headers.clone(),
            }),
            Err(redirect) => Err(redirect),
        }
    }
}

impl Account {
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The account page, with a notice or an error.
    pub async fn page(
        &self,
        app: &AppState,
        notice: Option<&'static str>,
        error: Option<&'static str>,
        status: StatusCode,
    ) -> Result<Response, PageError> {
        security::render_account(
            app,
            &self.headers,
            &self.session,
            &self.user,
            notice.map(String::from),
            error,
            status,
        )
        .await
    }

    /// The account page saying why a change was refused.
    pub async fn refuse(
        &self,
        app: &AppState,
        error: &'static str,
        status: StatusCode,
    ) -> Result<Response, PageError> {
        self.page(app, None, Some(error), status).await
    }

    /// A submitted form that changes the user's factors: its CSRF token
    /// must hold and the session may change them (see `may_change`);
    /// otherwise the account page saying why not.
    pub async fn changing_form(
        &self,
        app: &AppState,
        body: &[u8],
    ) -> Result<Result<Params, Response>, PageError> {
        let Some(form) = self.form(app, body) else {
            let page = self
                .refuse(app, security::EXPIRED_FORM, StatusCode::FORBIDDEN)
                .await?;
            return Ok(Err(page));
        };
        if let Some(refusal) = may_change(app, self).await? {
            return Ok(Err(self
                .refuse(app, refusal, StatusCode::FORBIDDEN)
                .await?));
        }
        Ok(Ok(form))
    }

    /// A submitted form, if its CSRF token matches this browser's.
    pub fn form(&self, app: &AppState, body: &[u8]) -> Option<Params> {
        let form = Params::parse(body);
        cookies::csrf_ok(app, &self.headers, form.get("csrf_token").ok().flatten()).then_some(form)
    }
}
