//! Signing keys: generated on first start, kept as PEM files (mode 0600) under
//! `keys/signing/`, published in the JWKS with RFC 7638 thumbprints as `kid`.
//!
//! A file is named `<alg>-<created unix secs>-<random>.pem`. The newest key of
//! each algorithm signs; an older one stays published (and verifies) until
//! its successor has been in use for longer than any token lives.

mod files;
mod signer;

pub(crate) use files::{create_private_dir, write_private};
pub use files::{ensure, generate, rotate, rotate_if_older, Alg, KeyError};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use files::{list, load_key, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not a JWS signed by this provider")]
    UnknownKey,
    #[error("bad signature or format")]
    Invalid,
}

/// The protected header of the tokens signed here (RFC 7515 §4.1).
#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// The keys in force at one moment.
struct KeySet {
    /// Published keys, oldest first.
    keys: Vec<SigningKey>,
    /// Index into `keys` of the signing key per algorithm.
    active: BTreeMap<Alg, usize>,
    jwks: bytes::Bytes,
}

/// The provider's signing keys, reloaded from disk so that `gatehouse keys
/// rotate` takes effect in a running server.
pub struct SigningKeys {
    dir: PathBuf,
    retirement_secs: i64,
    current: RwLock<Arc<KeySet>>,
}

fn build_set(keys_dir: &Path, now: i64, retirement_secs: i64) -> Result<KeySet, KeyError> {
    let files = list(keys_dir)?;
    let mut keys = Vec::new();
    for (index, (alg, created, path)) in files.iter().enumerate() {
        // A key is retired once a newer key of its algorithm has signed for
        // longer than any token lives.
        let successor = files[index + 1..]
            .iter()
            .find(|(a, c, _)| a == alg && *c <= now);
        if let Some((_, successor_created, _)) = successor {
            if successor_created + retirement_secs < now {
                continue;
            }
        }
        keys.push(load_key(*alg, *created, path)?);
    }
    let mut active = BTreeMap::new();
    for (index, key) in keys.iter().enumerate() {
        if key.created_at <= now || !active.contains_key(&key.alg) {
            active.insert(key.alg, index);
        }
    }
    for alg in Alg::ALL {
        if !active.contains_key(&alg) {
            return Err(KeyError::Missing(alg.name()));
        }
    }
    let jwks = serde_json::json!({
        "keys": keys.iter().map(|k| serde_json::Value::Object(k.public_jwk.clone())).collect::<Vec<_>>()
    })
    .to_string();
    Ok(KeySet {
        keys,
        active,
        jwks: bytes::Bytes::from(jwks),
    })
}

impl SigningKeys {
    /// Loads the keys, generating the missing ones first.
    pub fn open(keys_dir: &Path, now: i64, retirement_secs: i64) -> Result<SigningKeys, KeyError> {
        ensure(keys_dir, now)?;
        let set = build_set(keys_dir, now, retirement_secs)?;
        Ok(SigningKeys {
            dir: keys_dir.to_path_buf(),
            retirement_secs,
            current: RwLock::new(Arc::new(set)),
        })
    }

    /// Re-reads the keys directory (new keys from `keys rotate`, retirements).
    pub fn reload(&self, now: i64) -> Result<(), KeyError> {
        let set = build_set(&self.dir, now, self.retirement_secs)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        Ok(())
    }

    fn set(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The JWKS document, as served.
    pub fn jwks(&self) -> bytes::Bytes {
        self.set().jwks.clone()
    }

    /// The `kid` of the key that signs for `alg` now.
    pub fn active_kid(&self, alg: Alg) -> Option<String> {
        let set = self.set();
        set.active.get(&alg).map(|&i| set.keys[i].kid.clone())
    }

    /// Signs `claims` as a compact JWS with the active key of `alg`.
    pub fn sign(&self, alg: Alg, typ: &str, claims: &impl Serialize) -> Result<String, KeyError> {
        let set = self.set();
        let key = set
            .active
            .get(&alg)
            .map(|&i| &set.keys[i])
            .ok_or(KeyError::Missing(alg.name()))?;
        let header = Header {
            alg: alg.name(),
            typ,
            kid: &key.kid,
        };
        // RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload), signed,
        // then '.' BASE64URL(signature), built in one buffer.
        let header = serde_json::to_vec(&header).map_err(|e| KeyError::Sign(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        let mut jws = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 360);
        URL_SAFE_NO_PAD.encode_string(&header, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jws);
        let signature = key.signer.sign(jws.as_bytes()).map_err(KeyError::Sign)?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jws);
        Ok(jws)
    }

    /// Verifies a compact JWS signed by one of the published keys; returns its
    /// payload and its `typ` header.
    pub fn verify(&self, token: &str) -> Result<(serde_json::Value, Option<String>), VerifyError> {
        let set = self.set();
        let (payload, header) = josekit::jws::deserialize_compact_with_selector(token, |header| {
            let kid = header.key_id();
            let alg = header.algorithm();
            Ok(set
                .keys
                .iter()
                .find(|k| Some(k.kid.as_str()) == kid && Some(k.alg.name()) == alg)
                .map(|k| k.verifier.as_ref()))
        })
        .map_err(|e| match e {
            josekit::JoseError::InvalidSignature(_) => VerifyError::Invalid,
            _ => VerifyError::UnknownKey,
        })?;
        let claims = serde_json::from_slice(&payload).map_err(|_| VerifyError::Invalid)?;
        Ok((claims, header.token_type().map(str::to_string)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use std::fs;

    const NOW: i64 = 1_800_000_000;

    fn jwks_text(keys: &SigningKeys) -> String {
        String::from_utf8(keys.jwks().to_vec()).unwrap()
    }

    #[test]
    fn first_open_generates_one_key_per_algorithm_with_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::open(dir.path(), NOW, 3600).unwrap();
        let jwks: serde_json::Value = serde_json::from_slice(&keys.jwks()).unwrap();
        let algs: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["alg"].as_str().unwrap())
            .collect();
        assert_eq!(algs.len(), 3);
        for alg in ["RS256", "ES256", "EdDSA"] {
            assert!(algs.contains(&alg), "{alg} missing from {algs:?}");
        }
        #[cfg(unix)]
        for (_, _, path) in list(dir.path()).unwrap() {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(
            jwks.to_string().find("\"d\"").is_none(),
            "no private member is published"
        );
    }

    #[test]
    fn the_schedule_rotates_old_keys_and_keeps_them_published_a_while() {
        let dir = tempfile::tempdir().unwrap();
        let day = 86_400;
        let first = SigningKeys::open(dir.path(), NOW, 3600).unwrap();
        assert!(rotate_if_older(dir.path(), NOW + 90 * day - 1, 90 * day)
            .unwrap()
            .is_empty());
        let made = rotate_if_older(dir.path(), NOW + 90 * day, 90 * day).unwrap();
        assert_eq!(made.len(), 3, "one per algorithm");
        let later = SigningKeys::open(dir.path(), NOW + 90 * day, 3600).unwrap();
        for alg in Alg::ALL {
            let old = first.active_kid(alg).unwrap();
            assert_ne!(later.active_kid(alg).unwrap(), old, "the new key signs");
            assert!(
                jwks_text(&later).contains(&old),
                "the old key stays published"
            );
        }
        let retired = SigningKeys::open(dir.path(), NOW + 90 * day + 3601, 3600).unwrap();
        let old = first.active_kid(Alg::ES256).unwrap();
        assert!(
            !jwks_text(&retired).contains(&old),
            "retired once its tokens expired"
        );
    }

    #[test]
    fn kids_are_stable_across_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let first = SigningKeys::open(dir.path(), NOW, 3600).unwrap();
        let again = SigningKeys::open(dir.path(), NOW + 10, 3600).unwrap();
        for alg in Alg::ALL {
            assert_eq!(first.active_kid(alg), again.active_kid(alg));
        }
    }

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::open(dir.path(), NOW, 3600).unwrap();
        for alg in Alg::ALL {
            let token = keys
                .sign(alg, "JWT", &serde_json::json!({"sub": "u1"}))
                .unwrap();
            let (claims, typ) = keys.verify(&token).unwrap();
            assert_eq!(claims["sub"], "u1");
            assert_eq!(typ.as_deref(), Some("JWT"));
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
            parts[1] = &forged;
            assert!(
                keys.verify(&parts.join(".")).is_err(),
                "{alg:?} accepted a changed payload"
            );
        }
        assert!(keys.verify("not.a.jws").is_err());
        assert!(keys.verify("").is_err());
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_retires_the_old_one_later() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::open(dir.path(), NOW, 3600).unwrap();
        let old_kid = keys.active_kid(Alg::RS256).unwrap();
        let old_token = keys
            .sign(Alg::RS256, "JWT", &serde_json::json!({"n": 1}))
            .unwrap();
        rotate(dir.path(), NOW + 100).unwrap();
        keys.reload(NOW + 100).unwrap();
        let new_kid = keys.active_kid(Alg::RS256).unwrap();
        assert_ne!(old_kid, new_kid);
        assert!(
            jwks_text(&keys).contains(&old_kid),
            "old key still published while its tokens live"
        );
        assert!(keys.verify(&old_token).is_ok());
        keys.reload(NOW + 100 + 3601).unwrap();
        assert!(
            !jwks_text(&keys).contains(&old_kid),
            "old key retired after the longest token life"
        );
        assert!(jwks_text(&keys).contains(&new_kid));
    }
}
