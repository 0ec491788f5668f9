//! Signing keys: generated on first start, kept as PEM files (mode 0600) under
//! `keys/signing/`, published in the JWKS with RFC 7638 thumbprints as `kid`.
//!
//! A file is named `<alg>-<created unix secs>-<random>.pem`. The newest key of
//! each algorithm signs; an older one stays published (and verifies) until
//! its successor has been in use for longer than any token lives.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::KeyPair;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, JwsVerifier, ES256, RS256};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|alg| alg.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "keys directory {path}: {source}; keys_dir (GATEHOUSE_KEYS_DIR or --keys-dir) \
         must name a folder this user can read and write"
    )]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path}: {message}")]
    Malformed { path: String, message: String },
    #[error("no signing key for {0}")]
    Missing(&'static str),
    #[error("signing failed: {0}")]
    Sign(String),
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not a JWS signed by this provider")]
    UnknownKey,
    #[error("bad signature or format")]
    Invalid,
}

struct SigningKey {
    alg: Alg,
    kid: String,
    created_at: i64,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    public_jwk: serde_json::Map<String, serde_json::Value>,
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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn signing_dir(keys_dir: &Path) -> PathBuf {
    keys_dir.join("signing")
}

/// Generates a key of `alg` and writes it (mode 0600) into the keys directory.
pub fn generate(keys_dir: &Path, alg: Alg, now: i64) -> Result<PathBuf, KeyError> {
    let dir = signing_dir(keys_dir);
    create_private_dir(&dir)?;
    let pem = match alg {
        Alg::RS256 => RS256
            .generate_key_pair(2048)
            .map(|k| k.to_pem_private_key()),
        Alg::ES256 => ES256.generate_key_pair().map(|k| k.to_pem_private_key()),
        Alg::EdDSA => EdDSA
            .generate_key_pair(EdCurve::Ed25519)
            .map(|k| k.to_pem_private_key()),
    }
    .map_err(|e| KeyError::Sign(e.to_string()))?;
    let path = dir.join(format!(
        "{}-{now}-{}.pem",
        alg.name(),
        &crate::auth::secret::random_id()[..8]
    ));
    write_private(&path, &pem)?;
    Ok(path)
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    }
    Ok(())
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err(path))?;
    file.write_all(bytes).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

/// Generates a key for every algorithm that has none yet; returns how many were made.
pub fn ensure(keys_dir: &Path, now: i64) -> Result<usize, KeyError> {
    let existing = list(keys_dir)?;
    let mut made = 0;
    for alg in Alg::ALL {
        if !existing.iter().any(|(a, _, _)| *a == alg) {
            generate(keys_dir, alg, now)?;
            made += 1;
        }
    }
    Ok(made)
}

/// Adds a new key for every algorithm: they sign from now on.
pub fn rotate(keys_dir: &Path, now: i64) -> Result<Vec<PathBuf>, KeyError> {
    Alg::ALL
        .into_iter()
        .map(|alg| generate(keys_dir, alg, now))
        .collect()
}

/// Adds a new key for each algorithm whose newest key is `max_age_secs` old or
/// older: the schedule of `key_rotation_days`. Returns the new files.
pub fn rotate_if_older(
    keys_dir: &Path,
    now: i64,
    max_age_secs: i64,
) -> Result<Vec<PathBuf>, KeyError> {
    let existing = list(keys_dir)?;
    let mut made = Vec::new();
    for alg in Alg::ALL {
        let newest = existing
            .iter()
            .filter(|(a, _, _)| *a == alg)
            .map(|(_, created, _)| *created)
            .max();
        if newest.is_none_or(|created| now - created >= max_age_secs) {
            made.push(generate(keys_dir, alg, now)?);
        }
    }
    Ok(made)
}

/// The key files present: (algorithm, creation time, path).
fn list(keys_dir: &Path) -> Result<Vec<(Alg, i64, PathBuf)>, KeyError> {
    let dir = signing_dir(keys_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_err(&dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".pem") else {
            continue;
        };
        let mut parts = stem.splitn(3, '-');
        let (Some(alg), Some(created)) = (parts.next().and_then(Alg::parse), parts.next()) else {
            continue;
        };
        let Ok(created) = created.parse::<i64>() else {
            continue;
        };
        keys.push((alg, created, path));
    }
    keys.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
    Ok(keys)
}

fn load_key(alg: Alg, created_at: i64, path: &Path) -> Result<SigningKey, KeyError> {
    let pem = fs::read(path).map_err(io_err(path))?;
    let malformed = |e: josekit::JoseError| KeyError::Malformed {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let (signer, verifier, jwk): (Box<dyn JwsSigner>, Box<dyn JwsVerifier>, _) = match alg {
        Alg::RS256 => {
            let pair = RS256.key_pair_from_pem(&pem).map_err(malformed)?;
            let jwk = pair.to_jwk_public_key();
            (
                Box::new(RS256.signer_from_pem(&pem).map_err(malformed)?),
                Box::new(RS256.verifier_from_jwk(&jwk).map_err(malformed)?),
                jwk,
            )
        }
        Alg::ES256 => {
            let pair = ES256.key_pair_from_pem(&pem).map_err(malformed)?;
            let jwk = pair.to_jwk_public_key();
            (
                Box::new(ES256.signer_from_pem(&pem).map_err(malformed)?),
                Box::new(ES256.verifier_from_jwk(&jwk).map_err(malformed)?),
                jwk,
            )
        }
        Alg::EdDSA => {
            let pair = EdDSA.key_pair_from_pem(&pem).map_err(malformed)?;
            let jwk = pair.to_jwk_public_key();
            (
                Box::new(EdDSA.signer_from_pem(&pem).map_err(malformed)?),
                Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(malformed)?),
                jwk,
            )
        }
    };
    let mut public_jwk = jwk.as_ref().clone();
    let kid = thumbprint(&public_jwk).ok_or_else(|| KeyError::Malformed {
        path: path.display().to_string(),
        message: "public key lacks its parameters".into(),
    })?;
    public_jwk.insert("kid".into(), kid.clone().into());
    public_jwk.insert("alg".into(), alg.name().into());
    public_jwk.insert("use".into(), "sig".into());
    Ok(SigningKey {
        alg,
        kid,
        created_at,
        signer,
        verifier,
        public_jwk,
    })
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in
/// lexicographic order.
fn thumbprint(jwk: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    let members: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = serde_json::Map::new();
    for member in members {
        canonical.insert((*member).to_string(), jwk.get(*member)?.clone());
    }
    // serde_json's map keeps keys sorted, which is the order RFC 7638 asks for.
    let json = serde_json::Value::Object(canonical).to_string();
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes())))
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
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(key.kid.clone());
        josekit::jws::serialize_compact(&payload, &header, key.signer.as_ref())
            .map_err(|e| KeyError::Sign(e.to_string()))
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

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let jwk: serde_json::Map<String, serde_json::Value> = serde_json::from_str(r#"{
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }"#).unwrap();
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
