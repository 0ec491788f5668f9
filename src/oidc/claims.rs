//! The claims of ID tokens (OpenID Connect Core §2), access tokens (RFC 9068)
//! and userinfo responses (§5.3), released by scope (§5.4).

use serde::{Deserialize, Serialize};

use super::scope;

/// The person, as far as claims can tell.
pub struct Subject<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
}

/// The authentication an ID token describes.
pub struct Authentication<'a> {
    pub sid: &'a str,
    pub auth_time: i64,
    pub acr: &'a str,
    pub amr: &'a [String],
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub sid: String,
    pub acr: String,
    pub amr: Vec<String>,
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

/// Claims released by the `profile` and `email` scopes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProfileClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl ProfileClaims {
    pub fn for_scope(subject: &Subject<'_>, granted: &str) -> ProfileClaims {
        let mut claims = ProfileClaims::default();
        if scope::contains(granted, "profile") {
            claims.preferred_username = Some(subject.username.to_string());
            claims.name = Some(subject.username.to_string());
        }
        if scope::contains(granted, "email") {
            claims.email = Some(subject.email.to_string());
            // Addresses are entered by administrators; none is verified by mail yet.
            claims.email_verified = Some(false);
        }
        claims
    }
}

#[allow(clippy::too_many_arguments)]
pub fn id_token(
    issuer: &str,
    client_id: &str,
    subject: &Subject<'_>,
    auth: &Authentication<'_>,
    nonce: Option<&str>,
    granted_scope: &str,
    now: i64,
    lifetime_secs: i64,
) -> IdTokenClaims {
    IdTokenClaims {
        iss: issuer.to_string(),
        sub: subject.id.to_string(),
        aud: client_id.to_string(),
        azp: client_id.to_string(),
        exp: now + lifetime_secs,
        iat: now,
        auth_time: auth.auth_time,
        nonce: nonce.map(str::to_string),
        sid: auth.sid.to_string(),
        acr: auth.acr.to_string(),
        amr: auth.amr.to_vec(),
        profile: ProfileClaims::for_scope(subject, granted_scope),
    }
}

/// RFC 9068 access-token claims; `gid` names the grant so that revoking the
/// grant revokes the token.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    pub sid: String,
    pub gid: String,
    pub auth_time: i64,
    pub acr: String,
    /// RFC 9449 §6: the DPoP key the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// A token's confirmation claim (RFC 7800): the thumbprint of its DPoP key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// The audience of access tokens for the console's API (appended to the issuer).
pub const ADMIN_API_PATH: &str = "/admin/api";
/// The scope that a client-credentials token for the console's API carries.
pub const ADMIN_SCOPE: &str = "admin";

/// RFC 9068 access-token claims of the client-credentials grant: the client
/// acts for itself, with no user and no session.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClientAccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
}

/// Whether a client-credentials token is for this issuer's console API, unexpired, with `admin`.
pub fn check_admin_api_token(claims: &ClientAccessTokenClaims, issuer: &str, now: i64) -> bool {
    claims.iss == issuer
        && claims.aud == format!("{issuer}{ADMIN_API_PATH}")
        && claims.sub == claims.client_id
        && claims.exp > now
        && claims.iat <= now + 60
        && claims.scope.split(' ').any(|s| s == ADMIN_SCOPE)
}

/// A back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.4):
/// no `nonce`, an `events` member naming the logout event.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: serde_json::Value,
}

pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` of logout tokens (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";

pub fn logout_token(
    issuer: &str,
    client_id: &str,
    sub: &str,
    sid: &str,
    jti: String,
    now: i64,
) -> LogoutTokenClaims {
    LogoutTokenClaims {
        iss: issuer.to_string(),
        aud: client_id.to_string(),
        iat: now,
        exp: now + 120,
        jti,
        sub: sub.to_string(),
        sid: sid.to_string(),
        events: serde_json::json!({ LOGOUT_EVENT: {} }),
    }
}

/// The `typ` of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// The `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Checks the parts of access-token claims that need no database: issuer and expiry.
pub fn check_access_token(claims: &AccessTokenClaims, issuer: &str, now: i64) -> bool {
    claims.iss == issuer && claims.exp > now && claims.iat <= now + 60
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject<'static> {
        Subject {
            id: "u1",
            username: "ann",
            email: "ann@example.com",
        }
    }

    #[test]
    fn scopes_decide_which_profile_claims_are_released() {
        let none = ProfileClaims::for_scope(&subject(), "openid");
        assert!(none.email.is_none() && none.preferred_username.is_none());
        let email = ProfileClaims::for_scope(&subject(), "openid email");
        assert_eq!(email.email.as_deref(), Some("ann@example.com"));
        assert!(email.preferred_username.is_none());
        let profile = ProfileClaims::for_scope(&subject(), "openid profile");
        assert_eq!(profile.preferred_username.as_deref(), Some("ann"));
    }

    #[test]
    fn id_tokens_carry_every_required_claim() {
        let amr = vec!["pwd".to_string()];
        let auth = Authentication {
            sid: "s1",
            auth_time: 90,
            acr: "aal1",
            amr: &amr,
        };
        let claims = id_token(
            "https://idp",
            "portal",
            &subject(),
            &auth,
            Some("n"),
            "openid",
            100,
            3600,
        );
        let json = serde_json::to_value(&claims).unwrap();
        for name in [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "acr",
            "amr",
        ] {
            assert!(json.get(name).is_some(), "{name} missing");
        }
        assert_eq!(json["exp"], 3700);
        assert_eq!(json["amr"], serde_json::json!(["pwd"]));
        let without_nonce = id_token(
            "https://idp",
            "portal",
            &subject(),
            &auth,
            None,
            "openid",
            100,
            3600,
        );
        assert!(serde_json::to_value(&without_nonce)
            .unwrap()
            .get("nonce")
            .is_none());
    }

    #[test]
    fn logout_tokens_have_the_event_and_no_nonce() {
        let token = serde_json::to_value(logout_token(
            "https://idp",
            "portal",
            "u1",
            "s1",
            "j1".into(),
            100,
        ))
        .unwrap();
        assert_eq!(token["events"][LOGOUT_EVENT], serde_json::json!({}));
        assert!(token.get("nonce").is_none());
        for name in ["iss", "aud", "iat", "jti", "sub", "sid"] {
            assert!(token.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn access_tokens_from_elsewhere_or_expired_are_refused() {
        let claims = AccessTokenClaims {
            iss: "https://idp".into(),
            sub: "u".into(),
            aud: "c".into(),
            client_id: "c".into(),
            exp: 200,
            iat: 100,
            jti: "j".into(),
            scope: "openid".into(),
            sid: "s".into(),
            gid: "g".into(),
            auth_time: 100,
            acr: "aal1".into(),
            cnf: None,
        };
        assert!(check_access_token(&claims, "https://idp", 150));
        assert!(!check_access_token(&claims, "https://idp", 200));
        assert!(!check_access_token(&claims, "https://other", 150));
    }
}
