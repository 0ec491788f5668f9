//! PKCE (RFC 7636) with the S256 method only.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::auth::secret::constant_time_eq;

/// RFC 7636 §4.1/§4.2: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn is_well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A `code_challenge` as S256 produces it: 43 base64url characters.
pub fn is_valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && is_well_formed(challenge)
}

/// Checks a `code_verifier` against the stored S256 challenge.
pub fn verify_s256(challenge: &str, verifier: &str) -> bool {
    if !is_well_formed(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b_vector_verifies() {
        assert!(is_valid_challenge(CHALLENGE));
        assert!(verify_s256(CHALLENGE, VERIFIER));
    }

    #[test]
    fn a_wrong_or_malformed_verifier_fails() {
        assert!(!verify_s256(
            CHALLENGE,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"
        ));
        assert!(!verify_s256(CHALLENGE, "short"));
        assert!(!verify_s256(CHALLENGE, &"a".repeat(129)));
        assert!(!verify_s256(CHALLENGE, &format!("{}!", &VERIFIER[..42])));
    }

    #[test]
    fn challenges_must_look_like_s256_output() {
        assert!(!is_valid_challenge("plain-challenge"));
        assert!(!is_valid_challenge(&"a".repeat(44)));
    }
}
