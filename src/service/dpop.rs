//! DPoP at the endpoints (RFC 9449): a proof checked against the request it
//! came with (`oidc::dpop`), its `jti` taken once in the store, and server
//! nonces (§8) when `dpop_require_nonce` is set. Nonces are keyed tags of
//! the time, so every node with the same keys accepts the others'.

use crate::app::AppState;
use crate::auth::secret;
use crate::oidc::dpop::{self, Proof, Target};
use crate::store;

/// Why a proof is refused.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    #[error("invalid_dpop_proof: {0}")]
    Invalid(&'static str),
    /// The proof lacks the server's current nonce: this one is.
    #[error("use_dpop_nonce")]
    NonceRequired(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Checks the proof sent with a `method` request to the endpoint at `path`
/// (its URL built from the issuer); at a resource, `access_token` is the
/// token it must name. Returns the proof, its `jti` now used up.
pub async fn check(
    app: &AppState,
    proof: &str,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Proof, DpopError> {
    let proof = verify(app, proof, method, path, access_token)?;
    take(app, &proof).await?;
    Ok(proof)
}

/// The checks of [`check`] that write nothing: all but the `jti`'s, so
/// that a request refused for something else (its client, say) can come
/// again with the same proof.
pub fn verify(
    app: &AppState,
    proof: &str,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Proof, DpopError> {
    let url = format!("{}{path}", app.config.issuer());
    let target = Target {
        method,
        url: &url,
        access_token,
    };
    let now = app.clock.now();
    let proof = dpop::check(proof, &target, now).map_err(DpopError::Invalid)?;
    // A nonce is checked whenever one is sent, and required when so set.
    let nonce_ok = match &proof.nonce {
        Some(nonce) => is_current_nonce(app, nonce, now),
        None => !app.config.dpop_require_nonce,
    };
    if !nonce_ok {
        return Err(DpopError::NonceRequired(nonce_at(app, now)));
    }
    Ok(proof)
}

/// Uses up a verified proof's `jti`; a second use is refused.
pub async fn take(app: &AppState, proof: &Proof) -> Result<(), DpopError> {
    if !app
        .store
        .use_dpop_proof(&proof.jkt, &proof.jti, proof.remember_until)
        .await?
    {
        return Err(DpopError::Invalid("the DPoP proof was used before"));
    }
    Ok(())
}

/// The nonce to hand out now, when nonces are required.
pub fn current_nonce(app: &AppState) -> Option<String> {
    app.config
        .dpop_require_nonce
        .then(|| nonce_at(app, app.clock.now()))
}

fn nonce_at(app: &AppState, now: i64) -> String {
    nonce_of(app, dpop::nonce_period(now))
}

fn nonce_of(app: &AppState, period: i64) -> String {
    let mut tag = app.vault.tag(&dpop::nonce_input(period));
    tag.truncate(32);
    tag
}

/// This period's nonce or the last one's, so that a nonce handed out just
/// before the period turned still works.
fn is_current_nonce(app: &AppState, nonce: &str, now: i64) -> bool {
    let period = dpop::nonce_period(now);
    [period, period - 1]
        .iter()
        .any(|p| secret::constant_time_eq(nonce_of(app, *p).as_bytes(), nonce.as_bytes()))
}
