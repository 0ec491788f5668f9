//! DPoP proofs (RFC 9449): the checks of a proof a client sends in its
//! `DPoP` header (§4.3), the thumbprint of its key that tokens are bound to
//! (RFC 7638, `cnf.jkt`), the `ath` of an access token, and server nonces
//! (§8) derived from a key and the time. Whether a proof's `jti` was seen
//! before is the store's to say.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsVerifier, ES256, RS256};
use sha2::{Digest, Sha256};

/// The JOSE `typ` of a proof (§4.2).
pub const TYP: &str = "dpop+jwt";

/// The algorithms a proof may be signed with, as discovery lists them.
pub const ALGS: &[&str] = &["ES256", "EdDSA", "RS256"];

/// How old a proof's `iat` may be: a proof is made for one request.
pub const MAX_AGE_SECS: i64 = 300;

/// Clock skew allowed for an `iat` ahead of the provider's clock.
const SKEW_SECS: i64 = 60;

/// The longest proof read (an RSA-4096 key in its header fits).
const MAX_PROOF_LEN: usize = 8 * 1024;

/// How long one server nonce is handed out; it is accepted for one more
/// such period after the next one is.
pub const NONCE_PERIOD_SECS: i64 = 300;

/// The request a proof must be for.
pub struct Target<'a> {
    /// `htm`: the request's method.
    pub method: &'a str,
    /// `htu`: the request's URL, without query and fragment.
    pub url: &'a str,
    /// At a resource: the access token, whose hash `ath` must be.
    pub access_token: Option<&'a str>,
}

/// A checked proof: the thumbprint of its key, and what the replay and
/// nonce checks need.
#[derive(Debug, PartialEq, Eq)]
pub struct Proof {
    pub jkt: String,
    pub jti: String,
    /// When the `jti` can be forgotten: after this, the `iat` check refuses
    /// the proof anyway.
    pub remember_until: i64,
    pub nonce: Option<String>,
}

/// Checks a proof for `target` at `now`: a signed JWT of type `dpop+jwt`
/// with an allowed algorithm, signed by the public key in its own `jwk`
/// header; `htm` and `htu` the request's; `iat` recent; a `jti`; and at a
/// resource, `ath` the access token's hash. The error says what is wrong.
pub fn check(proof: &str, target: &Target<'_>, now: i64) -> Result<Proof, &'static str> {
    if proof.len() > MAX_PROOF_LEN || proof.split('.').count() != 3 {
        return Err("the DPoP proof is not a signed JWT");
    }
    let header =
        josekit::jwt::decode_header(proof).map_err(|_| "the DPoP proof's header is not JSON")?;
    if header.claim("typ").and_then(|t| t.as_str()) != Some(TYP) {
        return Err("the DPoP proof's typ must be dpop+jwt");
    }
    let alg = header
        .claim("alg")
        .and_then(|a| a.as_str())
        .filter(|a| ALGS.contains(a))
        .ok_or("the DPoP proof's alg must be ES256, EdDSA or RS256")?;
    let jwk = header
        .claim("jwk")
        .and_then(|j| j.as_object())
        .ok_or("the DPoP proof has no jwk in its header")?;
    let verifier = verifier(alg, jwk)?;
    let jkt = thumbprint(jwk)?;
    let (payload, _) = josekit::jws::deserialize_compact(proof, verifier.as_ref())
        .map_err(|_| "the DPoP proof's signature does not verify with its jwk")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|_| "the DPoP proof's claims are not JSON")?;
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str());
    if text("htm") != Some(target.method) {
        return Err("the DPoP proof's htm is not this request's method");
    }
    if !same_url(text("htu").unwrap_or_default(), target.url) {
        return Err("the DPoP proof's htu is not this endpoint's URL");
    }
    let iat = claims
        .get("iat")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|t| t.floor() as i64)))
        .ok_or("the DPoP proof has no iat")?;
    if iat > now + SKEW_SECS || iat < now - MAX_AGE_SECS {
        return Err("the DPoP proof's iat is too far from now");
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or("the DPoP proof has no jti")?;
    if let Some(token) = target.access_token {
        if text("ath") != Some(access_token_hash(token).as_str()) {
            return Err("the DPoP proof's ath is not the access token's hash");
        }
    }
    Ok(Proof {
        jkt,
        jti: jti.to_string(),
        remember_until: iat + MAX_AGE_SECS + SKEW_SECS,
        nonce: text("nonce").map(str::to_string),
    })
}

/// A verifier for the public key of a proof's header; a private key (or a
/// symmetric one) is refused.
fn verifier(
    alg: &str,
    jwk: &serde_json::Map<String, serde_json::Value>,
) -> Result<Box<dyn JwsVerifier>, &'static str> {
    const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k"];
    if PRIVATE.iter().any(|p| jwk.contains_key(*p)) {
        return Err("the DPoP proof's jwk must be a public key");
    }
    // A `kid` in the key would make the verifier ask for one in the header,
    // which a proof need not have.
    let mut map = jwk.clone();
    map.remove("kid");
    let jwk = Jwk::from_map(map).map_err(|_| "the DPoP proof's jwk is not a key")?;
    let unusable = "the DPoP proof's jwk does not fit its alg";
    Ok(match (alg, jwk.key_type(), jwk.curve()) {
        ("ES256", "EC", Some("P-256")) => {
            Box::new(ES256.verifier_from_jwk(&jwk).map_err(|_| unusable)?)
        }
        ("EdDSA", "OKP", Some("Ed25519")) => {
            Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(|_| unusable)?)
        }
        ("RS256", "RSA", _) => Box::new(RS256.verifier_from_jwk(&jwk).map_err(|_| unusable)?),
        _ => return Err(unusable),
    })
}

/// The JWK thumbprint (RFC 7638 §3) of a public key: SHA-256 over its
/// required members in lexical order, base64url.
pub fn thumbprint(
    jwk: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, &'static str> {
    let kty = jwk.get("kty").and_then(|v| v.as_str()).unwrap_or_default();
    let members: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return Err("the DPoP proof's jwk is not an EC, OKP or RSA key"),
    };
    let mut canonical = serde_json::Map::new();
    for name in members {
        match jwk.get(*name) {
            Some(value @ serde_json::Value::String(_)) => {
                canonical.insert((*name).to_string(), value.clone());
            }
            _ => return Err("the DPoP proof's jwk lacks a member of its key type"),
        }
    }
    // serde_json's map keeps its keys sorted and writes no whitespace.
    let json = serde_json::Value::Object(canonical).to_string();
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes())))
}

/// `ath` (§4.2): the base64url SHA-256 of an access token.
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// `htu` against the request's URL (§4.3): query and fragment left out,
/// compared after RFC 3986 normalisation of scheme, host and port.
fn same_url(htu: &str, expected: &str) -> bool {
    let parse = |u: &str| {
        let mut url = url::Url::parse(u).ok()?;
        url.set_query(None);
        url.set_fragment(None);
        Some(url)
    };
    match (parse(htu), parse(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The nonce period `now` falls in.
pub fn nonce_period(now: i64) -> i64 {
    now.div_euclid(NONCE_PERIOD_SECS)
}

/// What a server nonce is derived from, for the period it is handed out in:
/// the caller tags it with a key of its own.
pub fn nonce_input(period: i64) -> String {
    format!("dpop-nonce:{period}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::{JwsHeader, JwsSigner};

    const NOW: i64 = 1_800_000_000;
    const URL: &str = "https://id.example/token";

    /// The public key of RFC 9449's examples and, from §6.1, its thumbprint.
    #[test]
    fn the_thumbprint_of_the_rfc_example_key() {
        let jwk = serde_json::json!({
            "kty": "EC",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            "crv": "P-256"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    /// RFC 9449 §7.1's example access token and its `ath`.
    #[test]
    fn the_ath_of_the_rfc_example_token() {
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    struct Key {
        signer: Box<dyn JwsSigner>,
        public: serde_json::Value,
        alg: &'static str,
    }

    fn es256() -> Key {
        let pair = ES256.generate_key_pair().unwrap();
        Key {
            signer: Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            public: serde_json::Value::Object(pair.to_jwk_public_key().as_ref().clone()),
            alg: "ES256",
        }
    }

    fn ed25519() -> Key {
        let pair = EdDSA
            .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
            .unwrap();
        Key {
            signer: Box::new(EdDSA.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            public: serde_json::Value::Object(pair.to_jwk_public_key().as_ref().clone()),
            alg: "EdDSA",
        }
    }

    fn proof_with(
        key: &Key,
        header: &[(&str, serde_json::Value)],
        claims: serde_json::Value,
    ) -> String {
        let mut jws = JwsHeader::new();
        jws.set_token_type(TYP);
        jws.set_claim("jwk", Some(key.public.clone())).unwrap();
        for (name, value) in header {
            jws.set_claim(name, Some(value.clone())).unwrap();
        }
        let payload = serde_json::to_vec(&claims).unwrap();
        josekit::jws::serialize_compact(&payload, &jws, key.signer.as_ref()).unwrap()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({ "htm": "POST", "htu": URL, "iat": NOW, "jti": "e1j3V_bKic8-LAEB" })
    }

    fn target() -> Target<'static> {
        Target {
            method: "POST",
            url: URL,
            access_token: None,
        }
    }

    fn jkt_of(key: &Key) -> String {
        thumbprint(key.public.as_object().unwrap()).unwrap()
    }

    #[test]
    fn a_proof_gives_its_key_thumbprint() {
        for key in [es256(), ed25519()] {
            let proof = check(&proof_with(&key, &[], claims()), &target(), NOW).unwrap();
            assert_eq!(proof.jkt, jkt_of(&key), "{}", key.alg);
            assert_eq!(proof.jti, "e1j3V_bKic8-LAEB");
            assert_eq!(proof.remember_until, NOW + MAX_AGE_SECS + SKEW_SECS);
            assert_eq!(proof.nonce, None);
        }
    }

    #[test]
    fn a_proof_for_another_method_or_url_is_refused() {
        let key = es256();
        let proof = proof_with(&key, &[], claims());
        let get = Target {
            method: "GET",
            ..target()
        };
        assert!(check(&proof, &get, NOW).unwrap_err().contains("htm"));
        let other = Target {
            url: "https://id.example/userinfo",
            ..target()
        };
        assert!(check(&proof, &other, NOW).unwrap_err().contains("htu"));
        let other_host = Target {
            url: "https://other.example/token",
            ..target()
        };
        assert!(check(&proof, &other_host, NOW).is_err());
    }

    #[test]
    fn htu_is_compared_without_query_and_after_normalisation() {
        let key = es256();
        let mut c = claims();
        c["htu"] = "HTTPS://ID.example:443/token?x=1#f".into();
        assert!(check(&proof_with(&key, &[], c), &target(), NOW).is_ok());
    }

    #[test]
    fn an_old_or_future_proof_is_refused() {
        let key = es256();
        let proof = proof_with(&key, &[], claims());
        assert!(check(&proof, &target(), NOW + MAX_AGE_SECS + 1)
            .unwrap_err()
            .contains("iat"));
        assert!(check(&proof, &target(), NOW - SKEW_SECS - 1)
            .unwrap_err()
            .contains("iat"));
        assert!(check(&proof, &target(), NOW + MAX_AGE_SECS).is_ok());
    }

    #[test]
    fn the_header_must_say_dpop_with_an_allowed_alg_and_a_public_key() {
        let key = es256();
        let typed = proof_with(&key, &[("typ", "JWT".into())], claims());
        assert!(check(&typed, &target(), NOW).unwrap_err().contains("typ"));

        let pair = ES256.generate_key_pair().unwrap();
        let private = Key {
            signer: Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            public: serde_json::Value::Object(pair.to_jwk_private_key().as_ref().clone()),
            alg: "ES256",
        };
        let leaked = proof_with(&private, &[], claims());
        let refused = check(&leaked, &target(), NOW).unwrap_err();
        assert!(refused.contains("public"), "{refused}");

        // Signed by one key, naming another.
        let other = es256();
        let swapped = proof_with(&key, &[("jwk", other.public.clone())], claims());
        assert!(check(&swapped, &target(), NOW)
            .unwrap_err()
            .contains("signature"));

        // An HMAC "proof" has no public key to verify with.
        let hs = josekit::jws::HS256
            .signer_from_bytes(b"0123456789abcdef0123456789abcdef")
            .unwrap();
        let mut header = JwsHeader::new();
        header.set_token_type(TYP);
        header
            .set_claim("jwk", Some(serde_json::json!({"kty":"oct","k":"AAAA"})))
            .unwrap();
        let hmac =
            josekit::jws::serialize_compact(&serde_json::to_vec(&claims()).unwrap(), &header, &hs)
                .unwrap();
        assert!(check(&hmac, &target(), NOW).unwrap_err().contains("alg"));
    }

    #[test]
    fn a_proof_without_jti_or_with_a_wrong_ath_is_refused() {
        let key = es256();
        let mut c = claims();
        c.as_object_mut().unwrap().remove("jti");
        assert!(check(&proof_with(&key, &[], c), &target(), NOW)
            .unwrap_err()
            .contains("jti"));

        let at_resource = Target {
            access_token: Some("token-a"),
            ..target()
        };
        let mut c = claims();
        c["ath"] = access_token_hash("token-b").into();
        let proof = proof_with(&key, &[], c);
        assert!(check(&proof, &at_resource, NOW)
            .unwrap_err()
            .contains("ath"));
        let right = Target {
            access_token: Some("token-b"),
            ..target()
        };
        assert!(check(&proof, &right, NOW).is_ok());
    }

    #[test]
    fn a_proof_carries_its_nonce() {
        let key = es256();
        let mut c = claims();
        c["nonce"] = "n-123".into();
        let proof = check(&proof_with(&key, &[], c), &target(), NOW).unwrap();
        assert_eq!(proof.nonce.as_deref(), Some("n-123"));
    }

    #[test]
    fn nonce_periods_follow_the_clock() {
        assert_eq!(nonce_period(NONCE_PERIOD_SECS * 7), 7);
        assert_eq!(nonce_period(NONCE_PERIOD_SECS * 7 - 1), 6);
        assert_ne!(nonce_input(1), nonce_input(2));
    }
}
