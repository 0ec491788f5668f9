//! Authorization codes (RFC 6749 §4.1.2) that carry their grant, sealed by
//! the vault's code key: issuing one writes nothing. The token endpoint opens
//! the code, checks it here, and stores the grant under the code's own grant
//! id, once; a second redemption finds that grant and is a replay.

use serde::{Deserialize, Serialize};

use crate::auth::vault::{Vault, CODE_MAX_LEN};
use crate::oidc::pkce;

/// What a code grants, and what its redemption must match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    #[serde(rename = "g")]
    pub grant_id: String,
    #[serde(rename = "c")]
    pub client_id: String,
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "s")]
    pub sid: String,
    #[serde(rename = "sc")]
    pub scope: String,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(rename = "at")]
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    #[serde(rename = "r")]
    pub redirect_uri: String,
    #[serde(rename = "cc", default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(rename = "e")]
    pub expires_at: i64,
}

/// Why a redemption is refused before anything is stored.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The code was issued to another client: nothing of it is this client's to revoke.
    OtherClient,
    /// The code is past its lifetime (it may still be a late replay).
    Expired,
    /// Any other mismatch; the text goes into the `invalid_grant` answer.
    Invalid(&'static str),
}

impl CodeGrant {
    /// The sealed code; `None` when it would be too long to be taken back
    /// (a request with a nonce or state of kilobytes).
    pub fn seal(&self, vault: &Vault) -> Option<String> {
        let content = serde_json::to_vec(self).ok()?;
        Some(vault.seal_code(&content)).filter(|code| code.len() <= CODE_MAX_LEN)
    }

    /// The grant in `code`, if this provider's code key sealed it.
    pub fn open(vault: &Vault, code: &str) -> Option<CodeGrant> {
        let content = vault.open_code(code).ok()?;
        serde_json::from_slice(&content).ok()
    }

    /// What the token request must match: the client the code was issued to,
    /// the code's lifetime, the redirect URI of the authorization request, and
    /// its PKCE challenge.
    pub fn check(
        &self,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: i64,
    ) -> Result<(), Refusal> {
        if self.client_id != client_id {
            return Err(Refusal::OtherClient);
        }
        if self.expires_at <= now {
            return Err(Refusal::Expired);
        }
        if redirect_uri != Some(self.redirect_uri.as_str()) {
            return Err(Refusal::Invalid(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&self.code_challenge, verifier) {
            (Some(challenge), Some(verifier)) if pkce::verify_s256(challenge, verifier) => Ok(()),
            (Some(_), Some(_)) => Err(Refusal::Invalid("code_verifier does not match")),
            (Some(_), None) => Err(Refusal::Invalid("code_verifier is missing")),
            (None, Some(_)) => Err(Refusal::Invalid("code_verifier without a code_challenge")),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn grant() -> CodeGrant {
        CodeGrant {
            grant_id: "g1".into(),
            client_id: "portal".into(),
            user_id: "user-1234".into(),
            sid: "s1".into(),
            scope: "openid email".into(),
            nonce: Some("n-0S6_WzA2Mj".into()),
            auth_time: 1_000,
            acr: "aal2".into(),
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            redirect_uri: "https://portal.example/cb".into(),
            code_challenge: Some(CHALLENGE.into()),
            expires_at: 1_060,
        }
    }

    #[test]
    fn a_sealed_code_opens_to_its_grant_and_reveals_nothing() {
        let vault = Vault::from_master(&[3u8; 32]);
        let code = grant().seal(&vault).unwrap();
        assert_eq!(CodeGrant::open(&vault, &code), Some(grant()));
        for clear in [
            "portal",
            "user-1234",
            "n-0S6_WzA2Mj",
            "aal2",
            "portal.example",
        ] {
            assert!(!code.contains(clear), "{clear} is not readable in the code");
        }
        assert_ne!(
            grant().seal(&vault).unwrap(),
            code,
            "a fresh nonce each time"
        );
        let long = CodeGrant {
            nonce: Some("\u{1}".repeat(2048)),
            ..grant()
        };
        assert_eq!(long.seal(&vault), None, "too long to come back");
        assert!(
            code.len() < 512,
            "short enough for a redirect: {}",
            code.len()
        );
        assert_eq!(
            CodeGrant::open(&Vault::from_master(&[4u8; 32]), &code),
            None
        );
        assert_eq!(CodeGrant::open(&vault, "no-such-code"), None);
        assert_eq!(
            CodeGrant::open(&vault, &vault.seal_code(b"{}")),
            None,
            "not a grant"
        );
    }

    #[test]
    fn the_redemption_must_match_client_lifetime_redirect_and_pkce() {
        let g = grant();
        let redirect = Some("https://portal.example/cb");
        assert_eq!(g.check("portal", redirect, Some(VERIFIER), 1_059), Ok(()));
        assert_eq!(
            g.check("backoffice", redirect, Some(VERIFIER), 1_000),
            Err(Refusal::OtherClient)
        );
        assert_eq!(
            g.check("portal", redirect, Some(VERIFIER), 1_060),
            Err(Refusal::Expired)
        );
        for other in [
            None,
            Some("https://portal.example/cb/"),
            Some("https://evil.example/cb"),
        ] {
            assert!(matches!(
                g.check("portal", other, Some(VERIFIER), 1_000),
                Err(Refusal::Invalid(_))
            ));
        }
        for verifier in [
            None,
            Some("wrong-verifier-wrong-verifier-wrong-verifier-00"),
        ] {
            assert!(matches!(
                g.check("portal", redirect, verifier, 1_000),
                Err(Refusal::Invalid(_))
            ));
        }
        let plain = CodeGrant {
            code_challenge: None,
            ..grant()
        };
        assert_eq!(plain.check("portal", redirect, None, 1_000), Ok(()));
        assert!(matches!(
            plain.check("portal", redirect, Some(VERIFIER), 1_000),
            Err(Refusal::Invalid(_))
        ));
    }
}
