//! The public keys of a `private_key_jwt` client: registered as a JWK Set,
//! or fetched from its `jwks_uri` (a 5-second timeout, at most 64 KiB),
//! kept in `ClientKeyCache`. They are fetched again when an assertion names
//! a `kid` they lack, or when they are 10 minutes old, but never more than
//! once a minute per URI, failed fetches included, and one caller at a time.

use std::sync::Arc;
use std::time::Duration;

use crate::app::AppState;
use crate::oidc::client_assertion::{ClientKeys, MAX_JWKS_LEN};
use crate::store::Client;

/// How often a client's `jwks_uri` may be fetched at most.
const REFETCH_SECS: i64 = 60;

/// How long fetched keys are used before they are fetched again, so that a
/// key the client withdrew stops working.
const MAX_AGE_SECS: i64 = 600;

const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The client's keys for an assertion whose header names `kid`; `None` for
/// a client without keys. The error says why they cannot be had.
pub async fn of(
    app: &AppState,
    client: &Client,
    kid: Option<&str>,
) -> Result<Option<Arc<ClientKeys>>, String> {
    if let Some(jwks) = &client.jwks {
        return ClientKeys::parse(jwks).map(|k| Some(Arc::new(k)));
    }
    let Some(uri) = &client.jwks_uri else {
        return Ok(None);
    };
    let now = app.clock.now();
    let cached = app.client_keys.get(uri).unwrap_or_default();
    let wanted = match &cached.keys {
        Some(keys) => {
            kid.is_some_and(|kid| !keys.has_kid(kid)) || cached.attempted_at + MAX_AGE_SECS <= now
        }
        None => true,
    };
    if !wanted || !app.client_keys.claim_fetch(uri, now, REFETCH_SECS) {
        return cached.keys.map(Some).ok_or_else(|| {
            format!("the keys at {uri} could not be fetched; retried within a minute")
        });
    }
    let fetched = match fetch(app, uri).await {
        Ok(body) => ClientKeys::parse_published(&body),
        Err(why) => Err(why),
    };
    match fetched {
        Ok(keys) => {
            let keys = Arc::new(keys);
            app.client_keys.put(uri, Arc::clone(&keys));
            Ok(Some(keys))
        }
        // The keys fetched before stay usable until a fetch succeeds.
        Err(why) => cached.keys.map(Some).ok_or(why),
    }
}

/// The body at `uri`, when it answers 200 within the timeout and the size limit.
async fn fetch(app: &AppState, uri: &str) -> Result<String, String> {
    let http = app.http.client()?;
    let mut response = http
        .get(uri)
        .header("accept", "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("fetching {uri}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{uri} answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading {uri}: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_JWKS_LEN {
            return Err(format!("{uri} is larger than {MAX_JWKS_LEN} bytes"));
        }
    }
    String::from_utf8(body).map_err(|_| format!("{uri} is not text"))
}
