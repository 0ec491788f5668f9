//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at the
//! `end_session_endpoint`: with a valid `id_token_hint` for this browser's
//! user the session ends at once; otherwise the user confirms first. Ending
//! it queues back-channel logouts to every relying party of the session.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::oidc::authorize_request::redirect_with;
use crate::oidc::claims::ID_TOKEN_TYP;
use crate::oidc::params::Params;
use crate::oidc::registration;

pub const PATH: &str = crate::oidc::endpoints::LOGOUT;
pub const CONFIRM_PATH: &str = "/logout/confirm";

#[derive(Serialize)]
struct ConfirmPage {
    csrf_token: String,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

impl Page for ConfirmPage {
    const TEMPLATE: &'static str = "oidc/logout_confirm.html";
}

#[derive(Serialize)]
struct SignedOutPage {}

impl Page for SignedOutPage {
    const TEMPLATE: &'static str = "oidc/signed_out.html";
}

/// A checked logout request.
struct LogoutRequest {
    client_id: Option<String>,
    /// Registered for the client: safe to redirect to.
    redirect_uri: Option<String>,
    state: Option<String>,
    /// The subject and session an `id_token_hint` names.
    hint: Option<(String, Option<String>)>,
}

fn bad(message: &str) -> PageError {
    PageError::BadRequest(format!("This sign-out request is invalid: {message}."))
}

async fn check(app: &AppState, params: &Params) -> Result<LogoutRequest, PageError> {
    let one = |name: &str| {
        params
            .get(name)
            .map(|v| v.map(str::to_string))
            .map_err(|d| bad(&d.to_string()))
    };
    let mut client_id = one("client_id")?;
    let mut hint = None;
    if let Some(token) = one("id_token_hint")? {
        // Our own ID token, expired or not (Logout 1.0 §2).
        let (claims, typ) = app
            .keys
            .verify(&token)
            .map_err(|_| bad("id_token_hint is not an ID token issued here"))?;
        // Only an ID token: an access token or a logout token is no hint.
        if typ.as_deref() != Some(ID_TOKEN_TYP)
            || claims["iss"].as_str() != Some(app.config.issuer())
        {
            return Err(bad("id_token_hint is not an ID token issued here"));
        }
        let aud = claims["aud"].as_str().map(str::to_string);
        if client_id.is_some() && aud.is_some() && client_id != aud {
            return Err(bad("client_id does not match the id_token_hint"));
        }
        client_id = client_id.or(aud);
        let sub = claims["sub"].as_str().unwrap_or_default().to_string();
        hint = Some((sub, claims["sid"].as_str().map(str::to_string)));
    }
    let redirect_uri = match one("post_logout_redirect_uri")? {
        None => None,
        Some(uri) => {
            let client = match &client_id {
                Some(id) => app.store.client(id).await?,
                None => None,
            };
            // Exact match against the client's registration, or no redirect at all.
            match client {
                Some(client)
                    if registration::uri_is_registered(&client.post_logout_redirect_uris, &uri) =>
                {
                    Some(uri)
                }
                Some(_) => {
                    return Err(bad(
                        "post_logout_redirect_uri is not registered for the application",
                    ))
                }
                None => {
                    return Err(bad(
                        "post_logout_redirect_uri needs a known client_id or id_token_hint",
                    ))
                }
            }
        }
    };
    // Only a registered client is named on the confirmation page.
    let client_id = match client_id {
        Some(id) => app.store.client(&id).await?.map(|c| c.client_id),
        None => None,
    };
    Ok(LogoutRequest {
        client_id,
        redirect_uri,
        state: one("state")?,
        hint,
    })
}

/// Where the browser goes once signed out.
fn done(app: &AppState, request: &LogoutRequest) -> Result<Response, PageError> {
    match &request.redirect_uri {
        Some(uri) => {
            let pairs: Vec<(&str, &str)> = request
                .state
                .iter()
                .map(|s| ("state", s.as_str()))
                .collect();
            Ok(see_other(&redirect_with(uri, &pairs)))
        }
        None => SignedOutPage {}.render(app),
    }
}

/// Ends the browser's session everywhere and clears its cookie.
async fn sign_out(app: &AppState, sid: &str, response: &mut Response) -> Result<(), PageError> {
    let queued = app.store.end_session(sid, app.clock.now()).await?;
    if queued > 0 {
        app.deliveries.notify_one();
    }
    cookies::attach(response, Some(cookies::clear_session(app)));
    Ok(())
}

pub async fn logout_get(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    logout(
        app,
        headers,
        Params::parse(query.unwrap_or_default().as_bytes()),
    )
    .await
}

pub async fn logout_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    logout(app, headers, Params::parse(&body)).await
}

async fn logout(app: AppState, headers: HeaderMap, params: Params) -> Result<Response, PageError> {
    let request = check(&app, &params).await?;
    let Some(session) = cookies::current_session(&app, &headers).await? else {
        // Nothing to end here.
        return done(&app, &request);
    };
    let hinted = request.hint.as_ref().is_some_and(|(sub, sid)| {
        *sub == session.user_id && sid.as_ref().is_none_or(|s| *s == session.sid)
    });
    if hinted {
        let mut response = done(&app, &request)?;
        sign_out(&app, &session.sid, &mut response).await?;
        return Ok(response);
    }
    // Without a hint for this user, a page could sign them out unasked: confirm first.
    let (csrf_token, cookie) = cookies::csrf_token(&app, &headers);
    let page = ConfirmPage {
        csrf_token,
        client_id: request.client_id,
        post_logout_redirect_uri: request.redirect_uri,
        state: request.state,
    };
    let mut response = page.render(&app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn submit_confirm(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let params = Params::parse(&body);
    if !cookies::csrf_ok(&app, &headers, params.get("csrf_token").ok().flatten()) {
        return Err(PageError::Forbidden(
            "This form has expired. Please sign out again.".into(),
        ));
    }
    let request = check(&app, &params).await?;
    let mut response = done(&app, &request)?;
    if let Some(session) = cookies::current_session(&app, &headers).await? {
        sign_out(&app, &session.sid, &mut response).await?;
    }
    Ok(response)
}
