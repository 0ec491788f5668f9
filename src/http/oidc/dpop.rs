//! The `DPoP` header of a request (RFC 9449 §4.1): at most one proof, whose
//! key binds the tokens issued or must match the token presented.

use axum::http::HeaderMap;

use crate::app::AppState;
use crate::http::error::OAuthError;
use crate::service::dpop;

/// The header's name.
pub const DPOP: &str = "dpop";

/// The one DPoP proof of a request, if it has one.
pub fn proof_of(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut proofs = headers.get_all(DPOP).iter();
    let Some(proof) = proofs.next() else {
        return Ok(None);
    };
    if proofs.next().is_some() {
        return Err(OAuthError::InvalidDpopProof("send one DPoP header"));
    }
    proof
        .to_str()
        .map(Some)
        .map_err(|_| OAuthError::InvalidDpopProof("the DPoP proof is not a signed JWT"))
}

/// The thumbprint of the key of the request's proof, checked for a
/// `method` request to `path`; `None` when the request has no proof.
pub async fn key_of(
    app: &AppState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let Some(proof) = proof_of(headers)? else {
        return Ok(None);
    };
    let proof = dpop::check(app, proof, method, path, access_token).await?;
    Ok(Some(proof.jkt))
}
