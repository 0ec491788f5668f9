//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID
//! Connect Core §9): a client's public keys, and the checks of an assertion
//! it signed with one of them. Whether its `jti` was seen before is the
//! store's to say.

use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsVerifier, ES256, RS256};

/// The one `client_assertion_type` (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far ahead an assertion's `exp` may be: assertions are short-lived,
/// and each `jti` is remembered until its `exp`.
pub const MAX_LIFETIME_SECS: i64 = 300;

/// Clock skew allowed between the client and the provider.
const SKEW_SECS: i64 = 60;

/// The longest key set kept for a client.
pub const MAX_JWKS_LEN: usize = 64 * 1024;

/// The algorithms a client may sign its assertions with.
pub const ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// A client's public keys, ready to verify.
pub struct ClientKeys {
    keys: Vec<ClientKey>,
}

impl std::fmt::Debug for ClientKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| (&k.kid, k.alg)).collect();
        f.debug_struct("ClientKeys").field("keys", &kids).finish()
    }
}

struct ClientKey {
    kid: Option<String>,
    alg: &'static str,
    verifier: Box<dyn JwsVerifier>,
}

/// Why an assertion is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AssertionError {
    /// No key of the client's matches its `kid` and `alg`: the keys may
    /// have changed since they were fetched.
    UnknownKey,
    /// Anything else, said in words for the client.
    Invalid(&'static str),
}

/// What a checked assertion leaves for the replay check.
#[derive(Debug, PartialEq, Eq)]
pub struct Checked {
    pub jti: String,
    pub exp: i64,
}

impl ClientKeys {
    /// A JWK Set (RFC 7517 §5) of public RSA, P-256 or Ed25519 keys; the
    /// error says which key is refused and why.
    pub fn parse(jwks: &str) -> Result<ClientKeys, String> {
        let keys = entries(jwks)?
            .iter()
            .enumerate()
            .map(|(i, entry)| parse_key(entry).map_err(|why| format!("key {}: {why}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClientKeys { keys })
    }

    /// A JWK Set as a client publishes it at its `jwks_uri`: keys this
    /// provider cannot verify with (for encryption, other curves or
    /// algorithms) are left out, as RFC 7517 §5 asks; a private key anywhere
    /// refuses the whole set, and at least one key must remain.
    pub fn parse_published(jwks: &str) -> Result<ClientKeys, String> {
        let mut keys = Vec::new();
        for entry in entries(jwks)? {
            match parse_key(&entry) {
                Ok(key) => keys.push(key),
                Err(PRIVATE) => return Err(format!("the key set holds a private key: {PRIVATE}")),
                Err(_) => {}
            }
        }
        if keys.is_empty() {
            return Err("the key set has no RSA, P-256 or Ed25519 signing key".into());
        }
        Ok(ClientKeys { keys })
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The key for a header's `kid` and `alg`: by `kid` when it names one,
    /// else the one key of that algorithm.
    fn find(&self, kid: Option<&str>, alg: &str) -> Option<&ClientKey> {
        let of_alg = || self.keys.iter().filter(move |k| k.alg == alg);
        match kid {
            Some(kid) => of_alg().find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let mut candidates = of_alg();
                let only = candidates.next();
                candidates.next().map_or(only, |_| None)
            }
        }
    }
}

/// The entries of a JWK Set, at most [`MAX_JWKS_LEN`] bytes and not empty.
fn entries(jwks: &str) -> Result<Vec<serde_json::Value>, String> {
    if jwks.len() > MAX_JWKS_LEN {
        return Err(format!("a key set is at most {MAX_JWKS_LEN} bytes"));
    }
    let set: serde_json::Value =
        serde_json::from_str(jwks).map_err(|e| format!("the key set is not JSON: {e}"))?;
    let Some(entries) = set.get("keys").and_then(|k| k.as_array()) else {
        return Err("a key set is an object with a \"keys\" array".into());
    };
    if entries.is_empty() {
        return Err("the key set has no keys".into());
    }
    Ok(entries.clone())
}

/// Why a key with private parts is refused.
const PRIVATE: &str = "only public keys may be registered";

fn parse_key(entry: &serde_json::Value) -> Result<ClientKey, &'static str> {
    let map = entry.as_object().ok_or("a key is a JSON object")?;
    let private = ["d", "p", "q", "dp", "dq", "qi", "k"];
    if private.iter().any(|p| map.contains_key(*p)) {
        return Err(PRIVATE);
    }
    // The verifier matches `kid` itself; without one, a sole key of its
    // algorithm also verifies an assertion whose header names none.
    let mut map = map.clone();
    let kid = match map.remove("kid") {
        Some(serde_json::Value::String(kid)) => Some(kid),
        None => None,
        Some(_) => return Err("its \"kid\" is not a string"),
    };
    let jwk = Jwk::from_map(map).map_err(|_| "not a JSON Web Key")?;
    if jwk.key_use().is_some_and(|u| u != "sig") {
        return Err("a key with \"use\" other than \"sig\" cannot sign assertions");
    }
    let alg = match (jwk.key_type(), jwk.curve()) {
        ("RSA", _) => "RS256",
        ("EC", Some("P-256")) => "ES256",
        ("OKP", Some("Ed25519")) => "EdDSA",
        _ => return Err("keys are RSA, EC P-256 or OKP Ed25519"),
    };
    if jwk.algorithm().is_some_and(|a| a != alg) {
        return Err("its \"alg\" does not fit its type (RS256, ES256 or EdDSA)");
    }
    let verifier: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(
            RS256
                .verifier_from_jwk(&jwk)
                .map_err(|_| "an unusable RSA key")?,
        ),
        "ES256" => Box::new(
            ES256
                .verifier_from_jwk(&jwk)
                .map_err(|_| "an unusable P-256 key")?,
        ),
        _ => Box::new(
            EdDSA
                .verifier_from_jwk(&jwk)
                .map_err(|_| "an unusable Ed25519 key")?,
        ),
    };
    Ok(ClientKey { kid, alg, verifier })
}

/// The client an assertion claims to come from (its `sub`), unverified:
/// only to find the keys that then verify it.
pub fn claimed_client(assertion: &str) -> Option<String> {
    use base64::Engine;
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_string)
}

/// The `kid` of an assertion's header, to know whether fresh keys could help.
pub fn kid_of(assertion: &str) -> Option<String> {
    let header = josekit::jwt::decode_header(assertion).ok()?;
    header.claim("kid")?.as_str().map(str::to_string)
}

/// Checks `assertion` for `client_id`: signed by one of its `keys` with an
/// allowed algorithm; `iss` and `sub` the client; `aud` one of `audiences`;
/// `exp` in the future but within [`MAX_LIFETIME_SECS`]; `nbf` and `iat`
/// not in the future; a `jti`.
pub fn check(
    assertion: &str,
    keys: &ClientKeys,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<Checked, AssertionError> {
    if assertion.len() > 8 * 1024 || assertion.split('.').count() != 3 {
        return Err(AssertionError::Invalid(
            "client_assertion is not a signed JWT",
        ));
    }
    let unknown_key = std::cell::Cell::new(false);
    let verified = josekit::jws::deserialize_compact_with_selector(assertion, |header| {
        let alg = header.algorithm().unwrap_or_default();
        if !ALGS.contains(&alg) {
            return Ok(None);
        }
        let key = keys.find(header.key_id(), alg);
        unknown_key.set(key.is_none());
        Ok(key.map(|k| k.verifier.as_ref()))
    });
    let payload = match verified {
        Ok((payload, _)) => payload,
        Err(_) if unknown_key.get() => return Err(AssertionError::UnknownKey),
        Err(_) => {
            return Err(AssertionError::Invalid(
                "client_assertion's signature or algorithm is refused",
            ))
        }
    };
    let claims: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|_| AssertionError::Invalid("client_assertion's claims are not JSON"))?;
    check_claims(&claims, client_id, audiences, now)
}

fn check_claims(
    claims: &serde_json::Value,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<Checked, AssertionError> {
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
    // NumericDate may have a fraction (RFC 7519 §2): whole seconds suffice.
    let number = |name: &str| {
        let value = claims.get(name)?;
        value
            .as_i64()
            .or_else(|| value.as_f64().map(|t| t.floor() as i64))
    };
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(AssertionError::Invalid(
            "client_assertion's iss and sub must be the client_id",
        ));
    }
    let aud_ok = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => audiences.contains(&aud.as_str()),
        Some(serde_json::Value::Array(auds)) => auds
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::Invalid(
            "client_assertion's aud must be the issuer or this endpoint",
        ));
    }
    let exp = number("exp").ok_or(AssertionError::Invalid("client_assertion has no exp"))?;
    if exp <= now {
        return Err(AssertionError::Invalid("client_assertion has expired"));
    }
    if exp > now + MAX_LIFETIME_SECS + SKEW_SECS {
        return Err(AssertionError::Invalid(
            "client_assertion's exp is more than 5 minutes ahead",
        ));
    }
    for name in ["nbf", "iat"] {
        if number(name).is_some_and(|t| t > now + SKEW_SECS) {
            return Err(AssertionError::Invalid(
                "client_assertion is not valid yet (nbf or iat)",
            ));
        }
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(AssertionError::Invalid("client_assertion has no jti"))?;
    Ok(Checked {
        jti: jti.to_string(),
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::{JwsHeader, JwsSigner};

    const NOW: i64 = 1_800_000_000;
    const AUD: &str = "https://id.example";

    fn es256_pair() -> (Box<dyn JwsSigner>, serde_json::Value) {
        let pair = ES256.generate_key_pair().unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("k1");
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        let public: serde_json::Value = serde_json::to_value(public.as_ref()).unwrap();
        (Box::new(signer), public)
    }

    fn sign(signer: &dyn JwsSigner, kid: Option<&str>, claims: serde_json::Value) -> String {
        let mut header = JwsHeader::new();
        if let Some(kid) = kid {
            header.set_key_id(kid);
        }
        josekit::jws::serialize_compact(&serde_json::to_vec(&claims).unwrap(), &header, signer)
            .unwrap()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({ "iss": "app", "sub": "app", "aud": AUD, "exp": NOW + 120, "iat": NOW, "jti": "j1" })
    }

    fn keys_of(public: &serde_json::Value) -> ClientKeys {
        ClientKeys::parse(&serde_json::json!({ "keys": [public] }).to_string()).unwrap()
    }

    #[test]
    fn a_good_assertion_passes_with_or_without_a_kid() {
        let (signer, public) = es256_pair();
        let keys = keys_of(&public);
        let assertion = sign(signer.as_ref(), Some("k1"), claims());
        let checked = check(&assertion, &keys, "app", &[AUD], NOW).unwrap();
        assert_eq!(
            checked,
            Checked {
                jti: "j1".into(),
                exp: NOW + 120
            }
        );
        let without_kid = sign(signer.as_ref(), None, claims());
        assert!(check(&without_kid, &keys, "app", &[AUD], NOW).is_ok());
        assert_eq!(kid_of(&assertion).as_deref(), Some("k1"));
    }

    #[test]
    fn each_claim_is_checked() {
        let (signer, public) = es256_pair();
        let keys = keys_of(&public);
        let changed = |name: &str, value: serde_json::Value| {
            let mut c = claims();
            c[name] = value;
            sign(signer.as_ref(), Some("k1"), c)
        };
        let cases = [
            changed("iss", "other".into()),
            changed("sub", "other".into()),
            changed("aud", "https://elsewhere.example".into()),
            changed("aud", serde_json::json!(["https://elsewhere.example"])),
            changed("exp", (NOW - 1).into()),
            changed("exp", (NOW + 3600).into()),
            changed("nbf", (NOW + 600).into()),
            changed("jti", "".into()),
            changed("exp", "soon".into()),
        ];
        for assertion in cases {
            assert!(
                matches!(
                    check(&assertion, &keys, "app", &[AUD], NOW),
                    Err(AssertionError::Invalid(_))
                ),
                "{assertion}"
            );
        }
        let listed = changed("aud", serde_json::json!(["x", AUD]));
        assert!(check(&listed, &keys, "app", &[AUD], NOW).is_ok());
    }

    #[test]
    fn another_key_or_a_tampered_token_is_refused() {
        let (signer, public) = es256_pair();
        let (other_signer, _) = es256_pair();
        let keys = keys_of(&public);
        let forged = sign(other_signer.as_ref(), Some("k1"), claims());
        assert_eq!(
            check(&forged, &keys, "app", &[AUD], NOW),
            Err(AssertionError::Invalid(
                "client_assertion's signature or algorithm is refused"
            ))
        );
        let unknown = sign(signer.as_ref(), Some("k2"), claims());
        assert_eq!(
            check(&unknown, &keys, "app", &[AUD], NOW),
            Err(AssertionError::UnknownKey)
        );
        let good = sign(signer.as_ref(), Some("k1"), claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let none_header = "eyJhbGciOiJub25lIn0";
        parts[0] = none_header;
        assert!(
            check(&parts.join("."), &keys, "app", &[AUD], NOW).is_err(),
            "alg none"
        );
        assert!(check("not-a-jwt", &keys, "app", &[AUD], NOW).is_err());
    }

    #[test]
    fn a_published_set_keeps_what_it_can_verify_with() {
        let (_, public) = es256_pair();
        let enc = serde_json::json!({ "kty": "EC", "crv": "P-256", "use": "enc", "x": public["x"], "y": public["y"] });
        let p384 = serde_json::json!({ "kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA" });
        let set = serde_json::json!({ "keys": [enc, p384, public] }).to_string();
        assert!(
            ClientKeys::parse(&set).is_err(),
            "registered sets are strict"
        );
        let kept = ClientKeys::parse_published(&set).unwrap();
        assert!(kept.has_kid("k1"));
        let only_enc = serde_json::json!({ "keys": [enc] }).to_string();
        assert!(ClientKeys::parse_published(&only_enc).is_err());
        let pair = ES256.generate_key_pair().unwrap();
        let private = serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap();
        let with_private = serde_json::json!({ "keys": [public, private] }).to_string();
        assert!(ClientKeys::parse_published(&with_private)
            .unwrap_err()
            .contains("private key"));
    }

    #[test]
    fn a_fractional_exp_is_read_in_whole_seconds() {
        let (signer, public) = es256_pair();
        let mut c = claims();
        c["exp"] = serde_json::json!((NOW + 120) as f64 + 0.5);
        let assertion = sign(signer.as_ref(), Some("k1"), c);
        assert_eq!(
            check(&assertion, &keys_of(&public), "app", &[AUD], NOW)
                .unwrap()
                .exp,
            NOW + 120
        );
    }

    #[test]
    fn only_public_signing_keys_are_registered() {
        let pair = ES256.generate_key_pair().unwrap();
        let private = serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap();
        let set = serde_json::json!({ "keys": [private] }).to_string();
        assert!(ClientKeys::parse(&set)
            .unwrap_err()
            .contains("only public keys"));
        assert!(ClientKeys::parse("{}").is_err());
        assert!(ClientKeys::parse(r#"{"keys":[]}"#).is_err());
        assert!(ClientKeys::parse("not json").is_err());
        let oct = r#"{"keys":[{"kty":"oct"}]}"#;
        assert!(ClientKeys::parse(oct).is_err());
        let mut public = serde_json::to_value(pair.to_jwk_public_key().as_ref()).unwrap();
        public["alg"] = "RS256".into();
        let set = serde_json::json!({ "keys": [public] }).to_string();
        assert!(ClientKeys::parse(&set)
            .unwrap_err()
            .contains("does not fit"));
    }
}
