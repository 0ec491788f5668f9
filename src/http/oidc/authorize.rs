//! The authorization endpoint (OpenID Connect Core §3.1.2): GET and POST.
//! Single sign-on happens here: a live session gets its code with no page in between.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::secret;
use crate::http::cookies::{self, PendingTarget};
use crate::http::error::PageError;
use crate::http::login::pending;
use crate::http::oidc::form_post;
use crate::http::redirect::see_other;
use crate::oidc::auth_code::CodeGrant;
use crate::oidc::authorize_request::{
    AuthorizeRequest, Prompt, RedirectError, ResponseMode, Target,
};
use crate::oidc::claims::ID_TOKEN_TYP;
use crate::oidc::endpoints;
use crate::oidc::par;
use crate::oidc::params::Params;
use crate::oidc::registration;
use crate::service::{consent, factors};
use crate::store::{Client, Session, User};

pub const PATH: &str = crate::oidc::endpoints::AUTHORIZE;

pub async fn authorize_get(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    authorize(app, headers, query.unwrap_or_default().as_bytes()).await
}

pub async fn authorize_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(PageError::BadRequest(
            "An authorization request sent by POST must be a form (application/x-www-form-urlencoded).".into(),
        ));
    }
    authorize(app, headers, &body).await
}

async fn authorize(app: AppState, headers: HeaderMap, input: &[u8]) -> Result<Response, PageError> {
    let params = Params::parse(input);
    if let Ok(Some(request_uri)) = params.get("request_uri") {
        return pushed(&app, &headers, &params, request_uri).await;
    }
    let target = Target::from_params(&params)
        .map_err(|e| PageError::BadRequest(format!("This sign-in request is invalid: {}.", e.0)))?;
    let client = app.store.client(&target.client_id).await?.ok_or_else(|| {
        PageError::BadRequest("This sign-in request names an unknown application.".into())
    })?;
    // RFC 6749 §4.1.2.1: never redirect to an unregistered redirect_uri.
    if !registration::uri_is_registered(&client.redirect_uris, &target.redirect_uri) {
        return Err(PageError::BadRequest(
            "This sign-in request's redirect_uri is not registered for the application.".into(),
        ));
    }
    let (redirect_uri, state) = (target.redirect_uri.clone(), target.state.clone());
    let mode = target.response_mode;
    if client.require_par || app.config.require_pushed_authorization_requests {
        let err = RedirectError::new(
            "invalid_request",
            "this client must push its authorization requests first (RFC 9126)",
        );
        return Ok(error_redirect(
            &app,
            &redirect_uri,
            mode,
            state.as_deref(),
            &err,
        ));
    }
    let request = match AuthorizeRequest::from_params(&params, target, client.is_public()) {
        Ok(request) => request,
        Err(err) => {
            let state = state.as_deref();
            return Ok(error_redirect(&app, &redirect_uri, mode, state, &err));
        }
    };
    let session = cookies::current_session(&app, &headers).await?;
    decide(&app, request, session, &client).await
}

/// An authorization request by `request_uri` (RFC 9126 §4): the request the
/// client pushed, taken once and only with that client's `client_id`; the
/// other parameters are not read.
async fn pushed(
    app: &AppState,
    headers: &HeaderMap,
    params: &Params,
    request_uri: &str,
) -> Result<Response, PageError> {
    let id = par::parked_id_of(request_uri).ok_or_else(expired_request)?;
    let now = app.clock.now();
    let Some((parked, _)) = app.store.auth_request(id, now).await? else {
        return Err(expired_request());
    };
    let request: AuthorizeRequest = serde_json::from_str(&parked)
        .map_err(|e| PageError::Internal(format!("pushed request: {e}")))?;
    if params.get("client_id").ok().flatten() != Some(request.client_id.as_str()) {
        return Err(PageError::BadRequest(
            "This sign-in request names another application than the one that sent it.".into(),
        ));
    }
    if !app.store.take_auth_request(id).await? {
        return Err(expired_request());
    }
    let client = registered_client(app, &request).await?;
    let session = cookies::current_session(app, headers).await?;
    decide(app, request, session, &client).await
}

/// Answers a checked request: a code when the session suffices, else the sign-in page.
async fn decide(
    app: &AppState,
    request: AuthorizeRequest,
    session: Option<Session>,
    client: &Client,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let hinted_subject = match &request.id_token_hint {
        Some(hint) => match hint_subject(app, hint) {
            Some(subject) => Some(subject),
            None => {
                let err = RedirectError::new(
                    "invalid_request",
                    "id_token_hint is not an ID token issued here",
                );
                return Ok(refuse(app, &request, &err));
            }
        },
        None => None,
    };
    // A live session's user is never disabled (the session lookup says so).
    let usable = session.filter(|s| {
        request.prompt != Prompt::Login
            && !request.session_too_old(s.auth_time, now)
            && hinted_subject.as_ref().is_none_or(|sub| *sub == s.user_id)
    });
    match usable {
        Some(session) if session.acr != Acr::Aal2 => {
            // A session below aal2 answers only while it has what its user's
            // factors give: the level follows the factors the user has now,
            // so one added since (elsewhere) is asked for before the next code.
            let user = session_user(app, &session).await?;
            let factors = factors::level::of(app, &user).await?;
            if request.wants_aal2() || !factors.met_by(session.acr, &session.amr) {
                step_up(app, request, session, user).await
            } else {
                issue_code(app, &request, &session, client).await
            }
        }
        Some(session) => issue_code(app, &request, &session, client).await,
        None if request.prompt == Prompt::None => {
            let err = RedirectError::new("login_required", "the user is not signed in");
            Ok(refuse(app, &request, &err))
        }
        None => {
            let id = park(app, &request).await?;
            Ok(see_other(&format!("/login?request={id}")))
        }
    }
}

/// Stores a checked request while the user signs in; returns its id.
async fn park(app: &AppState, request: &AuthorizeRequest) -> Result<String, PageError> {
    let now = app.clock.now();
    let id = secret::random_token(24);
    let params = serde_json::to_string(request).map_err(|e| PageError::Internal(e.to_string()))?;
    app.store
        .put_auth_request(
            &id,
            &params,
            now,
            now + app.config.login_request_lifetime_secs,
        )
        .await?;
    Ok(id)
}

pub(super) async fn session_user(app: &AppState, session: &Session) -> Result<User, PageError> {
    app.store
        .user_by_id(&session.user_id)
        .await?
        .ok_or_else(|| PageError::BadRequest("Your account no longer exists.".into()))
}

/// The session is below `aal2` and the relying party wants `aal2`, or the
/// user has a factor the session has not given: the second step runs now
/// (enrolling one that reaches `aal2` first where the session has given
/// every factor the user has), then the request resumes.
async fn step_up(
    app: &AppState,
    request: AuthorizeRequest,
    session: Session,
    user: User,
) -> Result<Response, PageError> {
    if request.prompt == Prompt::None {
        let err = RedirectError::new("interaction_required", "a second factor is required");
        return Ok(refuse(app, &request, &err));
    }
    let id = park(app, &request).await?;
    let target = PendingTarget {
        request_id: Some(&id),
        next_path: None,
        session_sid: Some(&session.sid),
    };
    let factors = factors::level::of(app, &user).await?;
    if factors.met_by(session.acr, &session.amr) {
        // Enrolling a factor needs a recent password, not just a session
        // cookie: without one the sign-in page runs again, then the enrolment.
        let login_again = format!("/login?request={id}");
        return pending::enrol_from_session(app, &user, &session, target, &login_again).await;
    }
    pending::to_second_factor(app, &user.id, target).await
}

/// The subject of an ID token this provider signed; expiry does not matter for a hint.
fn hint_subject(app: &AppState, hint: &str) -> Option<String> {
    let (claims, typ) = app.keys.verify(hint).ok()?;
    if typ.as_deref() != Some(ID_TOKEN_TYP) || claims.get("iss")?.as_str()? != app.config.issuer() {
        return None;
    }
    claims.get("sub")?.as_str().map(str::to_string)
}

/// Resumes a request parked while the user signed in, now that `session` exists.
/// `fresh` says that `session` was just signed in (or raised) for this very
/// request, which a request with `prompt=login` or `max_age` needs.
pub async fn resume(
    app: &AppState,
    request_id: &str,
    session: &Session,
    fresh: bool,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let request = parked(app, request_id).await?;
    // The parked id is no capability: the session itself must answer the
    // request (its level, a sign-in for this request, the hinted user).
    let hinted = request
        .id_token_hint
        .as_deref()
        .and_then(|hint| hint_subject(app, hint));
    // Only a sign-in that just ended for this request may fall short of its
    // level, and only to go on to the step that reaches it (below).
    let level_short = !request.satisfied_by(session.acr, session.auth_time, fresh, now);
    if (level_short && !fresh)
        || !request.satisfied_by(Acr::Aal2, session.auth_time, fresh, now)
        || hinted.is_some_and(|sub| sub != session.user_id)
    {
        return Err(PageError::BadRequest(
            "This sign-in is not complete. Go back to the application and sign in again.".into(),
        ));
    }
    if !app.store.take_auth_request(request_id).await? {
        return Err(expired_request());
    }
    if level_short {
        // Only the level falls short: a second step that does not reach
        // aal2 (an email code the account does not count) was all the
        // user had, so one that does is enrolled now.
        let user = session_user(app, session).await?;
        return step_up(app, request, session.clone(), user).await;
    }
    let client = registered_client(app, &request).await?;
    issue_code(app, &request, session, &client).await
}

/// The client of a parked request, while its redirect URI stays registered.
pub(super) async fn registered_client(
    app: &AppState,
    request: &AuthorizeRequest,
) -> Result<Client, PageError> {
    let client = app.store.client(&request.client_id).await?;
    client
        .filter(|c| registration::uri_is_registered(&c.redirect_uris, &request.redirect_uri))
        .ok_or_else(|| {
            PageError::BadRequest(
                "The application that asked for this sign-in is no longer registered.".into(),
            )
        })
}

/// A request parked while the user signs in (or is asked for consent).
pub(super) async fn parked(
    app: &AppState,
    request_id: &str,
) -> Result<AuthorizeRequest, PageError> {
    let now = app.clock.now();
    // A pushed request is taken by its `request_uri` alone.
    if request_id.is_empty() || request_id.len() > 64 || par::is_pushed(request_id) {
        return Err(expired_request());
    }
    let Some((params, _)) = app.store.auth_request(request_id, now).await? else {
        return Err(expired_request());
    };
    serde_json::from_str(&params).map_err(|e| PageError::Internal(format!("parked request: {e}")))
}

pub(super) fn expired_request() -> PageError {
    PageError::BadRequest(
        "This sign-in request has expired or was already completed. Go back to the application and sign in again."
            .into(),
    )
}

/// The code, once a third-party client has the user's consent to the
/// scopes it asks for; else the consent page, or `consent_required` for a
/// request that shows none.
async fn issue_code(
    app: &AppState,
    request: &AuthorizeRequest,
    session: &Session,
    client: &Client,
) -> Result<Response, PageError> {
    let asked = request.prompt_consent;
    if !consent::needed(app, client, &session.user_id, &request.scope, asked).await? {
        return send_code(app, request, session);
    }
    if request.prompt == Prompt::None {
        let err = RedirectError::new(
            "consent_required",
            "the user has not allowed this application",
        );
        return Ok(refuse(app, request, &err));
    }
    // The consent page answers `prompt=consent` itself.
    let mut asking = request.clone();
    asking.prompt_consent = false;
    let id = park(app, &asking).await?;
    // The session has answered the request up to here (its level, a
    // sign-in for it where asked): the consent page resumes it as such, for
    // this session alone, however long the user takes to decide.
    app.store.complete_auth_request(&id, &session.sid).await?;
    Ok(see_other(&format!("{}?request={id}", endpoints::CONSENT)))
}

/// Seals the grant into a fresh code and sends the browser back with it;
/// nothing is stored until the code is redeemed.
fn send_code(
    app: &AppState,
    request: &AuthorizeRequest,
    session: &Session,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let code = CodeGrant {
        grant_id: secret::random_id(),
        client_id: request.client_id.clone(),
        user_id: session.user_id.clone(),
        sid: session.sid.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        auth_time: session.auth_time,
        acr: session.acr.as_str().into(),
        amr: session.amr.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        expires_at: now + app.config.code_lifetime_secs,
    }
    .seal(&app.vault);
    let Some(code) = code else {
        let err = RedirectError::new("invalid_request", "the nonce or the scope is too long");
        return Ok(refuse(app, request, &err));
    };
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", app.config.issuer()));
    let (uri, mode) = (&request.redirect_uri, request.response_mode);
    Ok(form_post::answer(app, uri, mode, &pairs))
}

/// The error of a checked request, back to its client.
pub(super) fn refuse(app: &AppState, request: &AuthorizeRequest, err: &RedirectError) -> Response {
    let (uri, mode) = (&request.redirect_uri, request.response_mode);
    error_redirect(app, uri, mode, request.state.as_deref(), err)
}

/// RFC 6749 §4.1.2.1: the error goes to the (verified) redirect URI.
fn error_redirect(
    app: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    state: Option<&str>,
    err: &RedirectError,
) -> Response {
    let mut pairs = vec![
        ("error", err.error),
        ("error_description", err.description.as_str()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", app.config.issuer()));
    form_post::answer(app, redirect_uri, mode, &pairs)
}
