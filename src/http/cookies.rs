//! The session, CSRF and remembered-device cookies: HttpOnly, SameSite,
//! `Secure` and `__Host-` named when the issuer is https. Only hashes of the
//! session id and the device secret are stored.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use cookie::{Cookie, SameSite};

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::login_flow::Stage;
use crate::auth::policy;
use crate::auth::secret;
use crate::store::{self, NewPendingLogin, NewSession, PendingLogin, Session, User};

const SESSION: &str = "gatehouse_session";
const CSRF: &str = "gatehouse_csrf";
const PENDING: &str = "gatehouse_login";
const DEVICE: &str = "gatehouse_device";

/// Sessions are re-marked as seen at most this often, to spare the database a write per request.
const TOUCH_INTERVAL_SECS: i64 = 60;

fn name(app: &AppState, base: &'static str) -> String {
    if app.config.is_https() {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// The value of cookie `name` in the request, if sent once or more (the first wins).
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

fn build(app: &AppState, name: String, value: String, same_site: SameSite) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(app.config.is_https())
        .same_site(same_site)
        .build();
    // Values are base64url tokens, so the header is always valid.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The browser's live session, if any; marks it seen.
pub async fn current_session(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, store::Error> {
    let Some(id) = read(headers, &name(app, SESSION)) else {
        return Ok(None);
    };
    if id.len() > 128 {
        return Ok(None);
    }
    let now = app.clock.now();
    let session = app
        .store
        .live_session(&secret::token_hash(&id), now)
        .await?;
    if let Some(session) = &session {
        if now - session.last_seen_at >= TOUCH_INTERVAL_SECS {
            app.store.touch_session(&session.sid, now).await?;
        }
    }
    Ok(session)
}

/// Starts a new session for `user` (a fresh id every sign-in, so a planted
/// cookie never becomes a signed-in one) and returns it with its cookie.
/// `password_at` is when the password of this sign-in was entered (none for
/// a passkey alone: changes to the account then ask for the password).
pub async fn start_session(
    app: &AppState,
    headers: &HeaderMap,
    user: &User,
    acr: Acr,
    amr: &[String],
    ip: Option<&str>,
    password_at: Option<i64>,
) -> Result<(Session, HeaderValue), store::Error> {
    let now = app.clock.now();
    // The session this one replaces ends as a logout does: its grants are
    // revoked and its relying parties told.
    if let Some(old) = read(headers, &name(app, SESSION)).filter(|old| old.len() <= 128) {
        if let Some(sid) = app.store.sid_of_session(&secret::token_hash(&old)).await? {
            if app.store.end_session(&sid, now).await? > 0 {
                app.deliveries.notify_one();
            }
        }
    }
    let id = secret::random_token(32);
    let sid = secret::random_id();
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect::<String>());
    let account = app.store.tenant_of(user).await?;
    let limits = policy::session_limits(&app.config, &account.settings);
    let expires_at = now + limits.lifetime_secs;
    app.store
        .create_session(NewSession {
            id_hash: &secret::token_hash(&id),
            sid: &sid,
            user_id: &user.id,
            auth_time: now,
            acr,
            amr,
            ip,
            user_agent: user_agent.as_deref(),
            expires_at,
            idle_secs: limits.idle_secs,
            reauthenticated_at: password_at,
        })
        .await?;
    let session = Session {
        sid,
        user_id: user.id.clone(),
        auth_time: now,
        acr,
        amr: amr.to_vec(),
        last_seen_at: now,
        expires_at,
        reauthenticated_at: password_at,
    };
    Ok((session, build(app, name(app, SESSION), id, SameSite::Lax)))
}

/// Raises the browser's session after a second step (to `aal2` where the
/// step counts, `login_flow::raised`), keeping its `sid` and rotating its
/// cookie id.
pub async fn raise_session(
    app: &AppState,
    sid: &str,
    amr: &[String],
) -> Result<Option<(Session, HeaderValue)>, store::Error> {
    let now = app.clock.now();
    let Some(current) = app.store.live_session_by_sid(sid, now).await? else {
        return Ok(None);
    };
    let (acr, amr) = crate::auth::login_flow::raised(current.acr, &current.amr, amr);
    let id = secret::random_token(32);
    let raised = app
        .store
        .raise_session(sid, &secret::token_hash(&id), acr, &amr, now)
        .await?;
    Ok(raised.map(|session| (session, build(app, name(app, SESSION), id, SameSite::Lax))))
}

/// What a pending sign-in is for, besides its user and stage.
#[derive(Default)]
pub struct PendingTarget<'a> {
    pub request_id: Option<&'a str>,
    pub next_path: Option<&'a str>,
    pub session_sid: Option<&'a str>,
}

/// Parks a sign-in between its password and its second step.
pub async fn start_pending(
    app: &AppState,
    user_id: &str,
    stage: Stage,
    target: PendingTarget<'_>,
) -> Result<HeaderValue, store::Error> {
    let now = app.clock.now();
    let id = secret::random_token(32);
    app.store
        .create_pending_login(NewPendingLogin {
            id_hash: &secret::token_hash(&id),
            user_id,
            stage: stage.as_str(),
            request_id: target.request_id,
            next_path: target.next_path,
            session_sid: target.session_sid,
            now,
            expires_at: now + app.config.pending_login_lifetime_secs,
        })
        .await?;
    Ok(build(app, name(app, PENDING), id, SameSite::Lax))
}

/// The browser's pending sign-in at `stage`: (hash of its id, the record).
pub async fn current_pending(
    app: &AppState,
    headers: &HeaderMap,
    stage: Stage,
) -> Result<Option<(String, PendingLogin)>, store::Error> {
    let Some(id) = read(headers, &name(app, PENDING)) else {
        return Ok(None);
    };
    if id.len() > 128 {
        return Ok(None);
    }
    let hash = secret::token_hash(&id);
    let pending = app.store.pending_login(&hash, app.clock.now()).await?;
    Ok(pending
        .filter(|p| p.stage == stage.as_str())
        .map(|p| (hash, p)))
}

/// Deletes the pending-sign-in cookie.
pub fn clear_pending(app: &AppState) -> HeaderValue {
    clear(app, PENDING)
}

/// Ends the pending sign-in's cookie on `response`, unless the response
/// sets a new one already (the sign-in goes on to another stage).
pub fn end_pending(app: &AppState, response: &mut Response) {
    let prefix = format!("{}=", name(app, PENDING));
    let replaced = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(prefix.as_bytes()));
    if !replaced {
        attach(response, Some(clear_pending(app)));
    }
}

/// The browser's remembered-device secret, if it sent one.
pub fn device_token(app: &AppState, headers: &HeaderMap) -> Option<String> {
    read(headers, &name(app, DEVICE)).filter(|t| !t.is_empty() && t.len() <= 64)
}

/// The cookie that makes this browser a remembered device for `max_age_secs`.
pub fn remember_device(app: &AppState, token: String, max_age_secs: i64) -> HeaderValue {
    let cookie = Cookie::build((name(app, DEVICE), token))
        .path("/")
        .http_only(true)
        .secure(app.config.is_https())
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Deletes the remembered-device cookie.
pub fn forget_device(app: &AppState) -> HeaderValue {
    clear(app, DEVICE)
}

/// Deletes the session cookie.
pub fn clear_session(app: &AppState) -> HeaderValue {
    clear(app, SESSION)
}

fn clear(app: &AppState, base: &'static str) -> HeaderValue {
    let cookie = Cookie::build((name(app, base), ""))
        .path("/")
        .http_only(true)
        .secure(app.config.is_https())
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token for a form: the browser's existing one, or a new one with
/// the cookie that carries it.
pub fn csrf_token(app: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match read(headers, &name(app, CSRF)) {
        Some(token) if token.len() == 43 => (token, None),
        _ => {
            let token = secret::random_token(32);
            let cookie = build(app, name(app, CSRF), token.clone(), SameSite::Strict);
            (token, Some(cookie))
        }
    }
}

/// Whether a submitted form's CSRF token matches the browser's cookie.
pub fn csrf_ok(app: &AppState, headers: &HeaderMap, submitted: Option<&str>) -> bool {
    match (read(headers, &name(app, CSRF)), submitted) {
        (Some(cookie), Some(form)) if cookie.len() == 43 => {
            secret::constant_time_eq(cookie.as_bytes(), form.as_bytes())
        }
        _ => false,
    }
}

/// Adds a `Set-Cookie` header to a response.
pub fn attach(response: &mut Response, cookie: Option<HeaderValue>) {
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
}
