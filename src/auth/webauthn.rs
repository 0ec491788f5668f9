//! WebAuthn as this provider uses it: the relying party taken from the issuer,
//! the kinds of credential, the options a page hands to the browser, and the
//! `amr` a key earns. Pure; `factors::security_keys` ties it to the store.

use serde_json::Value;
use url::Url;
use webauthn_rs::prelude::Uuid;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Why security keys cannot be used with this issuer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unavailable {
    #[error("the issuer is not a URL: {0}")]
    BadIssuer(String),
    #[error("the issuer's host {0} is an IP address; security keys need a domain name")]
    IpAddress(String),
    #[error("WebAuthn refuses the issuer {issuer}: {reason}")]
    Refused { issuer: String, reason: String },
}

/// The relying-party id (the issuer's host) and origin (its scheme, host and port).
pub fn relying_party(issuer: &str) -> Result<(String, Url), Unavailable> {
    let url = Url::parse(issuer).map_err(|_| Unavailable::BadIssuer(issuer.to_string()))?;
    let host = match url.host() {
        Some(url::Host::Domain(domain)) => domain.to_string(),
        Some(other) => return Err(Unavailable::IpAddress(other.to_string())),
        None => return Err(Unavailable::BadIssuer(issuer.to_string())),
    };
    let origin = Url::parse(&url.origin().ascii_serialization())
        .map_err(|_| Unavailable::BadIssuer(issuer.to_string()))?;
    Ok((host, origin))
}

/// The WebAuthn relying party for `issuer`, or why there is none.
pub fn relying_party_for(issuer: &str) -> Result<Webauthn, Unavailable> {
    let (rp_id, origin) = relying_party(issuer)?;
    let refused = |e: webauthn_rs::prelude::WebauthnError| Unavailable::Refused {
        issuer: issuer.to_string(),
        reason: e.to_string(),
    };
    WebauthnBuilder::new(&rp_id, &origin)
        .map_err(refused)?
        .rp_name("Gatehouse")
        .timeout(std::time::Duration::from_secs(CEREMONY_SECS as u64))
        .build()
        .map_err(refused)
}

/// How long a ceremony may take, from the page to the answer.
pub const CEREMONY_SECS: i64 = 300;

/// The two kinds of WebAuthn credential a user registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A second factor after the password; user verification preferred.
    SecurityKey,
    /// A discoverable credential with user verification required: a second
    /// factor, or (where the account allows it) a sign-in on its own.
    Passkey,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SecurityKey => "security_key",
            Kind::Passkey => "passkey",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "security_key" => Some(Kind::SecurityKey),
            "passkey" => Some(Kind::Passkey),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::SecurityKey => "Security key",
            Kind::Passkey => "Passkey",
        }
    }
}

/// The user handle an authenticator stores for a user: derived from a keyed
/// tag of the user's id, so that it reveals nothing and needs no column.
pub fn user_handle(tag_hex: &str) -> Uuid {
    let bytes = hex::decode(tag_hex).unwrap_or_default();
    let mut handle = [0u8; 16];
    for (slot, byte) in handle.iter_mut().zip(bytes) {
        *slot = byte;
    }
    Uuid::from_bytes(handle)
}

/// The browser's options for a registration, as the page embeds them. A
/// passkey must be discoverable, so that it can sign in without a username.
/// A security key is not asked for credential protection: browsers refuse
/// that request for a credential that is not discoverable (it was never
/// enforced).
pub fn creation_options(mut options: Value, kind: Kind) -> Value {
    if kind == Kind::SecurityKey {
        if let Some(extensions) = options
            .pointer_mut("/publicKey/extensions")
            .and_then(Value::as_object_mut)
        {
            extensions.remove("credentialProtectionPolicy");
            extensions.remove("enforceCredentialProtectionPolicy");
        }
    }
    if kind == Kind::Passkey {
        if let Some(selection) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(Value::as_object_mut)
        {
            selection.insert("residentKey".into(), Value::from("required"));
            selection.insert("requireResidentKey".into(), Value::from(true));
        }
    }
    options
}

/// The browser's options for an assertion: the page starts it on a click,
/// so no conditional mediation.
pub fn request_options(mut options: Value) -> Value {
    if let Some(object) = options.as_object_mut() {
        object.remove("mediation");
    }
    options
}

/// `amr` values (RFC 8176) for a key: `hwk` for a key bound to its device,
/// `swk` for a passkey that may be synced (backup eligible); `mfa` after a
/// password, or for a passkey alone, which verified its user (PIN or
/// biometrics: which one, the authenticator does not say).
pub fn amr(backup_eligible: bool, with_password: bool) -> Vec<String> {
    let key = if backup_eligible { "swk" } else { "hwk" };
    let mut amr = Vec::new();
    if with_password {
        amr.push("pwd");
    }
    amr.push(key);
    amr.push("mfa");
    amr.into_iter().map(String::from).collect()
}

/// A name the user gave a key: trimmed, 1 to 64 characters, no control characters.
pub fn key_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty() && name.chars().count() <= 64 && !name.chars().any(char::is_control);
    ok.then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuers_host_and_origin() {
        let (id, origin) = relying_party("https://id.example.com/").unwrap();
        assert_eq!(id, "id.example.com");
        assert_eq!(origin.as_str(), "https://id.example.com/");
        let (id, origin) = relying_party("http://localhost:8080").unwrap();
        assert_eq!(id, "localhost");
        assert_eq!(origin.as_str(), "http://localhost:8080/");
        assert!(relying_party_for("http://localhost:8080").is_ok());
    }

    #[test]
    fn an_ip_address_issuer_has_no_security_keys() {
        assert!(matches!(
            relying_party("http://127.0.0.1:8080"),
            Err(Unavailable::IpAddress(_))
        ));
        assert!(matches!(
            relying_party("http://[::1]:8080"),
            Err(Unavailable::IpAddress(_))
        ));
        assert!(matches!(
            relying_party("not a url"),
            Err(Unavailable::BadIssuer(_))
        ));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [Kind::SecurityKey, Kind::Passkey] {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("totp"), None);
    }

    #[test]
    fn handles_differ_per_tag_and_are_stable() {
        let a = user_handle("00112233445566778899aabbccddeeff00");
        assert_eq!(a, user_handle("00112233445566778899aabbccddeeff00"));
        assert_ne!(a, user_handle("10112233445566778899aabbccddeeff00"));
    }

    #[test]
    fn passkeys_are_asked_to_be_discoverable() {
        let options = serde_json::json!({"publicKey": {"authenticatorSelection": {
            "residentKey": "discouraged", "requireResidentKey": false}}});
        let passkey = creation_options(options.clone(), Kind::Passkey);
        assert_eq!(
            passkey.pointer("/publicKey/authenticatorSelection/residentKey"),
            Some(&Value::from("required"))
        );
        let key = creation_options(options.clone(), Kind::SecurityKey);
        assert_eq!(key, options);
        let protected = serde_json::json!({"publicKey": {"extensions": {
            "credentialProtectionPolicy": "userVerificationRequired", "uvm": true}}});
        assert_eq!(
            creation_options(protected, Kind::SecurityKey),
            serde_json::json!({"publicKey": {"extensions": {"uvm": true}}})
        );
        let request =
            request_options(serde_json::json!({"publicKey": {}, "mediation": "conditional"}));
        assert!(request.get("mediation").is_none());
    }

    #[test]
    fn amr_names_the_key_and_the_factors() {
        assert_eq!(amr(false, true), ["pwd", "hwk", "mfa"]);
        assert_eq!(amr(true, true), ["pwd", "swk", "mfa"]);
        assert_eq!(amr(true, false), ["swk", "mfa"]);
    }

    #[test]
    fn key_names_are_short_and_printable() {
        assert_eq!(key_name("  YubiKey 5 "), Some("YubiKey 5".into()));
        assert_eq!(key_name(""), None);
        assert_eq!(key_name("a\u{7}b"), None);
        assert_eq!(key_name(&"k".repeat(65)), None);
    }
}
