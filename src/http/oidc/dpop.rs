//! The `DPoP` header of a request (RFC 9449 §4.1): at most one proof, whose
//! key binds the tokens issued or must match the token presented
//! (`service::dpop` checks it).

use axum::http::HeaderMap;

use crate::http::error::OAuthError;

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
