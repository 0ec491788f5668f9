//! An example relying party on the `openidconnect` crate, as an application
//! would integrate Gatehouse: code flow with PKCE and nonce, ID-token
//! verification, RP-initiated logout, and back-channel logout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    TokenResponse,
};
use serde::Serialize;

use crate::auth::secret;
use crate::templates::Templates;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What this app shows of a sign-in.
#[derive(Clone, Serialize)]
struct Claims {
    sub: String,
    username: String,
    acr: String,
    amr: String,
    auth_time: String,
    sid: String,
}

struct SignedIn {
    claims: Claims,
    id_token: CoreIdToken,
}

/// A relying party: its registration, and its own sessions in memory.
pub struct RelyingParty {
    name: &'static str,
    base_url: String,
    other: (&'static str, String),
    issuer: String,
    jwks_uri: String,
    client: Client,
    end_session: Option<EndSessionUrl>,
    http: reqwest::Client,
    templates: Arc<Templates>,
    sessions: Mutex<HashMap<String, SignedIn>>,
    pending: Mutex<HashMap<String, (Nonce, PkceCodeVerifier)>>,
}

pub struct Registration {
    pub name: &'static str,
    pub base_url: String,
    pub client_secret: String,
    pub other: (&'static str, String),
}

impl RelyingParty {
    /// Configures the app from the provider's discovery document.
    pub async fn discover(
        issuer: &str,
        registration: Registration,
        templates: Arc<Templates>,
    ) -> Result<RelyingParty, String> {
        // oauth2's advice: no redirects when talking to the provider.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let issuer_url = IssuerUrl::new(issuer.to_string()).map_err(|e| e.to_string())?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer_url, &http)
            .await
            .map_err(|e| format!("discovery: {e}"))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let jwks_uri = metadata.jwks_uri().url().to_string();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(registration.name.to_string()),
            Some(ClientSecret::new(registration.client_secret)),
        )
        .set_redirect_uri(
            RedirectUrl::new(format!("{}/callback", registration.base_url))
                .map_err(|e| e.to_string())?,
        );
        Ok(RelyingParty {
            name: registration.name,
            base_url: registration.base_url,
            other: registration.other,
            issuer: issuer.to_string(),
            jwks_uri,
            client,
            end_session,
            http,
            templates,
            sessions: Mutex::default(),
            pending: Mutex::default(),
        })
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(home))
            .route("/login", get(login))
            .route("/callback", get(callback))
            .route("/logout", get(logout))
            .route("/backchannel-logout", post(backchannel_logout))
            .with_state(Arc::new(self))
    }

    fn cookie_name(&self) -> String {
        format!("{}_session", self.name)
    }

    fn session_id(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.cookie_name();
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

fn failure(message: String) -> Response {
    (StatusCode::BAD_GATEWAY, message).into_response()
}

#[derive(Serialize)]
struct AppPage<'a> {
    title: String,
    other_name: &'a str,
    other_url: &'a str,
    claims: Option<Claims>,
}

async fn home(State(rp): State<Arc<RelyingParty>>, headers: HeaderMap) -> Response {
    let claims = rp.session_id(&headers).and_then(|id| {
        rp.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|s| s.claims.clone())
    });
    let mut title = rp.name.to_string();
    title[..1].make_ascii_uppercase();
    let page = AppPage {
        title,
        other_name: rp.other.0,
        other_url: &rp.other.1,
        claims,
    };
    match rp.templates.render("demo/app.html", page) {
        Ok(html) => Html(html).into_response(),
        Err(_) => failure("the page could not be rendered".into()),
    }
}

/// Starts the code flow: PKCE, nonce and state, remembered for the callback.
async fn login(State(rp): State<Arc<RelyingParty>>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut pending = rp.pending.lock().unwrap_or_else(|e| e.into_inner());
    // A bound on sign-ins begun and never finished.
    if pending.len() >= 1000 {
        pending.clear();
    }
    pending.insert(state.secret().clone(), (nonce, verifier));
    drop(pending);
    redirect(url.as_str())
}

/// Redeems the code, verifies the ID token, and starts this app's session.
async fn callback(State(rp): State<Arc<RelyingParty>>, RawQuery(query): RawQuery) -> Response {
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    if let Some(error) = query.get("error") {
        return failure(format!("sign-in failed: {error}"));
    }
    let (Some(code), Some(state)) = (query.get("code"), query.get("state")) else {
        return failure("the callback lacks its code or state".into());
    };
    let Some((nonce, verifier)) = rp
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(state)
    else {
        return failure("unknown state: start the sign-in again".into());
    };
    let request = match rp
        .client
        .exchange_code(AuthorizationCode::new(code.clone()))
    {
        Ok(request) => request.set_pkce_verifier(verifier),
        Err(e) => return failure(e.to_string()),
    };
    let tokens: CoreTokenResponse = match request.request_async(&rp.http).await {
        Ok(tokens) => tokens,
        Err(e) => return failure(format!("code exchange failed: {e}")),
    };
    let Some(id_token) = tokens.id_token().cloned() else {
        return failure("no ID token".into());
    };
    let verifier = rp.client.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    let claims: CoreIdTokenClaims = match id_token.claims(&verifier, &nonce) {
        Ok(claims) => claims.clone(),
        Err(e) => return failure(format!("the ID token does not verify: {e}")),
    };
    // sid is not among the crate's typed claims: read it from the verified payload.
    let sid = id_token
        .to_string()
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p).ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v["sid"].as_str().map(str::to_string))
        .unwrap_or_default();
    let summary = Claims {
        sub: claims.subject().to_string(),
        username: claims
            .preferred_username()
            .map(|u| u.to_string())
            .unwrap_or_default(),
        acr: claims
            .auth_context_ref()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        amr: claims
            .auth_method_refs()
            .map(|m| {
                m.iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
        auth_time: claims
            .auth_time()
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        sid,
    };
    let session_id = secret::random_token(24);
    rp.sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            session_id.clone(),
            SignedIn {
                claims: summary,
                id_token,
            },
        );
    let mut response = redirect("/");
    let cookie = format!(
        "{}={session_id}; Path=/; HttpOnly; SameSite=Lax",
        rp.cookie_name()
    );
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// RP-initiated logout: ends this app's session and sends the browser to the
/// provider, which ends its session and tells the other apps.
async fn logout(State(rp): State<Arc<RelyingParty>>, headers: HeaderMap) -> Response {
    let signed_in = rp.session_id(&headers).and_then(|id| {
        rp.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
    });
    let (Some(end_session), Some(signed_in)) = (rp.end_session.clone(), signed_in) else {
        return redirect("/");
    };
    let mut request = LogoutRequest::from(end_session).set_id_token_hint(&signed_in.id_token);
    if let Ok(after) = PostLogoutRedirectUrl::new(format!("{}/", rp.base_url)) {
        request = request.set_post_logout_redirect_uri(after);
    }
    redirect(
        request
            .set_state(CsrfToken::new_random())
            .http_get_url()
            .as_str(),
    )
}

/// Back-channel logout (Back-Channel Logout 1.0 §2.6): verify the logout
/// token against the provider's JWKS, then end the sessions of its `sid`.
async fn backchannel_logout(State(rp): State<Arc<RelyingParty>>, body: Bytes) -> Response {
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    let Some(token) = token else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match verify_logout_token(&rp, &token).await {
        Ok(sid) => {
            rp.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, s| s.claims.sid != sid);
            StatusCode::OK.into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error).into_response(),
    }
}

async fn verify_logout_token(rp: &RelyingParty, token: &str) -> Result<String, String> {
    use josekit::jws::{EdDSA, JwsVerifier, ES256, RS256};
    let jwks = rp
        .http
        .get(&rp.jwks_uri)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let jwks: serde_json::Value =
        serde_json::from_slice(&jwks.bytes().await.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let header = josekit::jwt::decode_header(token).map_err(|e| e.to_string())?;
    if header.claim("typ").and_then(|t| t.as_str()) != Some("logout+jwt") {
        return Err("not a logout token".into());
    }
    let kid = header
        .claim("kid")
        .and_then(|k| k.as_str())
        .ok_or("no kid")?;
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .and_then(|k| k.as_object().cloned())
        .ok_or("unknown key")?;
    let jwk = josekit::jwk::Jwk::from_map(jwk).map_err(|e| e.to_string())?;
    let verifier: Box<dyn JwsVerifier> = match jwk.algorithm() {
        Some("RS256") => Box::new(RS256.verifier_from_jwk(&jwk).map_err(|e| e.to_string())?),
        Some("ES256") => Box::new(ES256.verifier_from_jwk(&jwk).map_err(|e| e.to_string())?),
        Some("EdDSA") => Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(|e| e.to_string())?),
        _ => return Err("unsupported key".into()),
    };
    let (payload, _) =
        josekit::jws::deserialize_compact(token, verifier.as_ref()).map_err(|e| e.to_string())?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).map_err(|e| e.to_string())?;
    let event = &claims["events"]["http://schemas.openid.net/event/backchannel-logout"];
    let now = crate::clock::Clock::system().now();
    let fresh = claims["iat"]
        .as_i64()
        .is_some_and(|iat| (now - iat).abs() <= 300)
        && claims["exp"].as_i64().is_some_and(|exp| exp > now);
    if claims["iss"] != rp.issuer.as_str()
        || claims["aud"] != rp.name
        || !event.is_object()
        || claims.get("nonce").is_some()
        || !fresh
    {
        return Err("not a logout token for this app".into());
    }
    claims["sid"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "no sid".into())
}
