//! Client authentication at the token, PAR, revocation and introspection
//! endpoints (RFC 6749 §2.3): client_secret_basic, client_secret_post,
//! `private_key_jwt` (RFC 7523) and `none` for public clients. Secrets are
//! argon2id hashes, checked once per process and then from
//! `ClientSecretCache`; an assertion's `jti` is taken once in the store.

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::app::AppState;
use crate::auth::password;
use crate::http::error::OAuthError;
use crate::oidc::client_assertion::{self, AssertionError};
use crate::oidc::endpoints::TOKEN;
use crate::oidc::params::Params;
use crate::service::client_keys;
use crate::store::Client;

/// The parameters of a protocol POST: a form body, no parameter twice.
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let params = Params::parse(body);
    if let Some(name) = params.first_duplicate() {
        return Err(OAuthError::InvalidRequest(format!(
            "parameter {name} was sent more than once"
        )));
    }
    Ok(params)
}

pub fn param<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, OAuthError> {
    params
        .get(name)
        .map_err(|d| OAuthError::InvalidRequest(d.to_string()))
}

/// The client's credentials as presented: (client_id, secret, via Basic).
pub fn presented_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, Option<String>, bool), OAuthError> {
    let basic = match headers.get(AUTHORIZATION) {
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| OAuthError::InvalidClient("malformed Authorization header", true))?;
            let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::InvalidClient(
                    "only Basic client authentication is accepted",
                    true,
                ));
            }
            let decoded = STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(OAuthError::InvalidClient(
                    "malformed Basic credentials",
                    true,
                ))?;
            let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient(
                "malformed Basic credentials",
                true,
            ))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded.
            let (id, secret) = (form_decode(id), form_decode(secret));
            if id.contains('\0') || secret.contains('\0') {
                return Err(OAuthError::InvalidClient(
                    "malformed Basic credentials",
                    true,
                ));
            }
            Some((id, secret))
        }
        None => None,
    };
    let body_id = param(params, "client_id")?;
    let body_secret = param(params, "client_secret")?;
    match basic {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method, not two".into(),
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::InvalidClient(
                    "client_id does not match the credentials",
                    true,
                ));
            }
            Ok((id, Some(secret), true))
        }
        None => {
            let id = body_id.ok_or(OAuthError::InvalidClient(
                "client authentication is missing",
                false,
            ))?;
            Ok((id.to_string(), body_secret.map(str::to_string), false))
        }
    }
}

fn form_decode(part: &str) -> String {
    form_urlencoded::parse(part.as_bytes())
        .next()
        .map(|(k, v)| {
            if v.is_empty() {
                k.into_owned()
            } else {
                format!("{k}={v}")
            }
        })
        .unwrap_or_default()
}

/// Failed client authentications per client id, and per address, within the
/// password window before further attempts are refused until it ends. A
/// client's own retries after a rotated secret stay well under these.
const FAILURES_PER_CLIENT: i64 = 100;
const FAILURES_PER_ADDRESS: i64 = 20;

fn throttle_keys(client_id: &str, ip: IpAddr) -> (String, String) {
    (format!("client:id:{client_id}"), format!("client:ip:{ip}"))
}

/// Authenticates the client of a protocol POST to `endpoint` (its path)
/// from `ip`: by assertion when one is presented, else as below. A secret is
/// checked only while neither its client id nor the address is locked; an
/// unknown client id costs the same hash as a wrong secret, so the answer
/// and its timing do not tell whether a client exists.
pub async fn authenticate_client(
    app: &AppState,
    headers: &HeaderMap,
    params: &Params,
    ip: IpAddr,
    endpoint: &str,
) -> Result<Client, OAuthError> {
    if let Some(kind) = param(params, "client_assertion_type")? {
        if headers.contains_key(AUTHORIZATION) || param(params, "client_secret")?.is_some() {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method, not two".into(),
            ));
        }
        return by_assertion(app, params, kind, endpoint).await;
    }
    let (client_id, presented, via_basic) = presented_credentials(headers, params)?;
    let refused = || OAuthError::InvalidClient("unknown client or wrong secret", via_basic);
    let client = app.store.client(&client_id).await?;
    let (client, secret) = match (client, presented) {
        (Some(client), Some(secret)) => (client, secret),
        // A public client authenticates with its id alone (`none`).
        (Some(client), None) if client.is_public() => return Ok(client),
        (Some(_), None) => {
            return Err(OAuthError::InvalidClient(
                "client authentication is missing",
                via_basic,
            ))
        }
        (None, None) => return Err(refused()),
        // An unknown client with a secret: a guess, checked and counted as one.
        (None, Some(secret)) => {
            let keys = throttle_keys(&client_id, ip);
            throttled(app, &keys, via_basic).await?;
            let stored = app.dummy_hash.to_string();
            app.hash_blocking(move || password::verify(&secret, &stored))
                .await
                .map_err(|e| OAuthError::Internal(format!("secret check: {e}")))?;
            count_failure(app, &keys).await?;
            return Err(refused());
        }
    };
    let Some(hash) = &client.secret_hash else {
        let why = match client.uses_keys() {
            true => "this client authenticates with private_key_jwt",
            false => "a public client has no secret",
        };
        return Err(OAuthError::InvalidClient(why, via_basic));
    };
    let keys = throttle_keys(&client.client_id, ip);
    throttled(app, &keys, via_basic).await?;
    if app
        .client_secrets
        .is_known_good(&client.client_id, hash, &secret)
    {
        return Ok(client);
    }
    let (stored, candidate) = (hash.clone(), secret.clone());
    let good = app
        .hash_blocking(move || password::verify(&candidate, &stored))
        .await
        .map_err(|e| OAuthError::Internal(format!("secret check: {e}")))?;
    if !good {
        count_failure(app, &keys).await?;
        return Err(refused());
    }
    app.client_secrets
        .remember(&client.client_id, hash, &secret);
    Ok(client)
}

/// `private_key_jwt`: the assertion checked against the client's keys, for
/// the issuer, the token endpoint or `endpoint`, its `jti` taken once.
async fn by_assertion(
    app: &AppState,
    params: &Params,
    kind: &str,
    endpoint: &str,
) -> Result<Client, OAuthError> {
    if kind != client_assertion::ASSERTION_TYPE {
        return Err(OAuthError::InvalidRequest(format!(
            "client_assertion_type must be {}",
            client_assertion::ASSERTION_TYPE
        )));
    }
    let assertion = param(params, "client_assertion")?
        .ok_or_else(|| OAuthError::InvalidRequest("client_assertion is missing".into()))?;
    let refused = || OAuthError::InvalidClient("unknown client or wrong key", false);
    let client_id = match param(params, "client_id")? {
        Some(id) => id.to_string(),
        None => client_assertion::claimed_client(assertion).ok_or_else(refused)?,
    };
    let client = app.store.client(&client_id).await?.ok_or_else(refused)?;
    let keys = client_keys::of(app, &client, client_assertion::kid_of(assertion).as_deref())
        .await
        .map_err(|why| {
            tracing::warn!(client_id = %client.client_id, %why, "a client's keys are unusable");
            OAuthError::InvalidClient("the client's keys cannot be read", false)
        })?
        .ok_or_else(refused)?;
    let issuer = app.config.issuer();
    let (token, here) = (format!("{issuer}{TOKEN}"), format!("{issuer}{endpoint}"));
    let now = app.clock.now();
    let checked = client_assertion::check(
        assertion,
        &keys,
        &client.client_id,
        &[issuer, &token, &here],
        now,
    )
    .map_err(|e| match e {
        AssertionError::UnknownKey => {
            OAuthError::InvalidClient("no key of the client's signed client_assertion", false)
        }
        AssertionError::Invalid(why) => OAuthError::InvalidClient(why, false),
    })?;
    if !app
        .store
        .use_client_assertion(&client.client_id, &checked.jti, checked.exp)
        .await?
    {
        return Err(OAuthError::InvalidClient(
            "client_assertion was used before",
            false,
        ));
    }
    Ok(client)
}

/// Refuses the attempt while its client id or its address is locked.
async fn throttled(
    app: &AppState,
    (by_client, by_address): &(String, String),
    via_basic: bool,
) -> Result<(), OAuthError> {
    let now = app.clock.now();
    match app
        .store
        .locked_until_either(by_client, by_address, now)
        .await?
    {
        Some(_) => Err(OAuthError::InvalidClient(
            "too many failed client authentications: try again later",
            via_basic,
        )),
        None => Ok(()),
    }
}

/// Counts a failed client authentication; the one that reaches a limit locks
/// its key for the password window.
async fn count_failure(
    app: &AppState,
    (by_client, by_address): &(String, String),
) -> Result<(), OAuthError> {
    let now = app.clock.now();
    let window = app.config.password_failure_window_secs;
    for (key, limit) in [
        (by_client, FAILURES_PER_CLIENT),
        (by_address, FAILURES_PER_ADDRESS),
    ] {
        let (failures, _) = app.store.count_attempt(key, now, window).await?;
        if failures >= limit {
            app.store.lock(key, now + window).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("my%20client"), "my client");
        assert_eq!(form_decode("a+b"), "a b");
        assert_eq!(form_decode("s%3Ae%2Fc"), "s:e/c");
        assert_eq!(form_decode(""), "");
    }

    #[test]
    fn basic_and_body_secrets_together_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            format!("Basic {}", STANDARD.encode("c:s")).parse().unwrap(),
        );
        let params = Params::parse(b"client_secret=s");
        assert!(matches!(
            presented_credentials(&headers, &params),
            Err(OAuthError::InvalidRequest(_))
        ));
        let params = Params::parse(b"client_id=c");
        let (id, secret, basic) = presented_credentials(&headers, &params).unwrap();
        assert_eq!(
            (id.as_str(), secret.as_deref(), basic),
            ("c", Some("s"), true)
        );
    }
}
