//! Key files under `keys/signing/`: made (mode 0600, in a 0700 folder), listed by
//! algorithm and age, rotated, and loaded into signing keys with their RFC 7638
//! thumbprint as `kid`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::KeyPair;
use josekit::jws::{EdDSA, JwsVerifier, ES256, RS256};
use sha2::{Digest, Sha256};

use super::signer::Signer;

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

pub(super) struct SigningKey {
    pub(super) alg: Alg,
    pub(super) kid: String,
    pub(super) created_at: i64,
    pub(super) signer: Signer,
    pub(super) verifier: Box<dyn JwsVerifier>,
    pub(super) public_jwk: serde_json::Map<String, serde_json::Value>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(super) fn signing_dir(keys_dir: &Path) -> PathBuf {
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
pub(super) fn list(keys_dir: &Path) -> Result<Vec<(Alg, i64, PathBuf)>, KeyError> {
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

/// The DER document of a PKCS#8 PEM file (`BEGIN PRIVATE KEY`), as the
/// keys are written.
fn pkcs8_der(pem: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not a PEM file".to_string())?;
    let body = text
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next())
        .ok_or("not a PKCS#8 PEM file (BEGIN PRIVATE KEY)")?;
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|_| "the PEM body is not base64".to_string())
}

pub(super) fn load_key(alg: Alg, created_at: i64, path: &Path) -> Result<SigningKey, KeyError> {
    let pem = fs::read(path).map_err(io_err(path))?;
    let malformed = |e: josekit::JoseError| KeyError::Malformed {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let (verifier, jwk): (Box<dyn JwsVerifier>, _) = match alg {
        Alg::RS256 => {
            let jwk = RS256
                .key_pair_from_pem(&pem)
                .map_err(malformed)?
                .to_jwk_public_key();
            (
                Box::new(RS256.verifier_from_jwk(&jwk).map_err(malformed)?),
                jwk,
            )
        }
        Alg::ES256 => {
            let jwk = ES256
                .key_pair_from_pem(&pem)
                .map_err(malformed)?
                .to_jwk_public_key();
            (
                Box::new(ES256.verifier_from_jwk(&jwk).map_err(malformed)?),
                jwk,
            )
        }
        Alg::EdDSA => {
            let jwk = EdDSA
                .key_pair_from_pem(&pem)
                .map_err(malformed)?
                .to_jwk_public_key();
            (
                Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(malformed)?),
                jwk,
            )
        }
    };
    let unusable = |message: String| KeyError::Malformed {
        path: path.display().to_string(),
        message,
    };
    let der = pkcs8_der(&pem).map_err(unusable)?;
    let signer = match alg {
        Alg::RS256 => Signer::rsa(&pem),
        Alg::ES256 => Signer::p256(&der),
        Alg::EdDSA => Signer::ed25519(&der),
    }
    .map_err(unusable)?;
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
pub(super) fn thumbprint(jwk: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
