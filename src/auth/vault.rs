//! Secrets at rest: TOTP secrets sealed with ChaCha20-Poly1305, backup codes
//! stored as HMAC-SHA256 tags; and authorization codes, which carry their
//! grant sealed under a key of their own. Every key derives from one 256-bit
//! master key kept in `keys/secrets.key` (mode 0600, generated on first
//! start), so a database dump alone reveals none of them, and every node that
//! shares the keys folder opens what another sealed.

use std::path::Path;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const KEY_FILE: &str = "secrets.key";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("secrets key {path}: {message}")]
    Key { path: String, message: String },
    #[error("a sealed secret does not open (wrong key, or tampered)")]
    Open,
}

/// Sealing and tagging keys; never printed (no `Debug`).
pub struct Vault {
    cipher: ChaCha20Poly1305,
    code_cipher: ChaCha20Poly1305,
    mac_key: [u8; 32],
}

/// What an authorization code's seal is bound to.
const CODE_CONTEXT: &[u8] = b"authorization code";
/// The longest code this provider issues or decodes.
pub const CODE_MAX_LEN: usize = 4096;

fn derive(master: &[u8], purpose: &str) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Vault {
    pub fn from_master(master: &[u8; 32]) -> Vault {
        let enc = derive(master, "gatehouse totp secret sealing v1");
        Vault {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&enc)),
            code_cipher: ChaCha20Poly1305::new(Key::from_slice(&derive(
                master,
                "gatehouse authorization codes v1",
            ))),
            mac_key: derive(master, "gatehouse backup code tags v1"),
        }
    }

    /// Whether the keys folder holds a master key already.
    pub fn exists(keys_dir: &Path) -> bool {
        keys_dir.join(KEY_FILE).exists()
    }

    /// Loads the master key from the keys folder, creating it on first start.
    pub fn open(keys_dir: &Path) -> Result<Vault, VaultError> {
        let path = keys_dir.join(KEY_FILE);
        let err = |message: String| VaultError::Key {
            path: path.display().to_string(),
            message,
        };
        let master: [u8; 32] = match std::fs::read(&path) {
            Ok(bytes) => bytes
                .try_into()
                .map_err(|_| err("must hold exactly 32 bytes".into()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut master = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut master);
                crate::oidc::keys::create_private_dir(keys_dir).map_err(|e| err(e.to_string()))?;
                crate::oidc::keys::write_private(&path, &master).map_err(|e| err(e.to_string()))?;
                master
            }
            Err(e) => return Err(err(e.to_string())),
        };
        Ok(Vault::from_master(&master))
    }

    /// Encrypts `secret`, bound to `context` (the owner's id) so that a sealed
    /// value copied to another row does not open.
    pub fn seal(&self, secret: &[u8], context: &str) -> String {
        STANDARD_NO_PAD.encode(seal_with(&self.cipher, secret, context.as_bytes()))
    }

    pub fn unseal(&self, sealed: &str, context: &str) -> Result<Vec<u8>, VaultError> {
        let bytes = STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| VaultError::Open)?;
        open_with(&self.cipher, &bytes, context.as_bytes())
    }

    /// Seals an authorization code's content into the code itself (URL-safe).
    pub fn seal_code(&self, content: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(seal_with(&self.code_cipher, content, CODE_CONTEXT))
    }

    /// Opens a code sealed by [`Vault::seal_code`]; anything else, or a code
    /// changed by one bit, does not open.
    pub fn open_code(&self, code: &str) -> Result<Vec<u8>, VaultError> {
        if code.len() > CODE_MAX_LEN {
            return Err(VaultError::Open);
        }
        let bytes = URL_SAFE_NO_PAD.decode(code).map_err(|_| VaultError::Open)?;
        open_with(&self.code_cipher, &bytes, CODE_CONTEXT)
    }

    /// A keyed tag of `value` (hex): stored in place of a backup code, or
    /// handed out to come back (a DPoP nonce).
    pub fn tag(&self, value: &str) -> String {
        hex::encode(derive(&self.mac_key, value))
    }
}

/// A fresh random nonce, then the ciphertext and its tag.
fn seal_with(cipher: &ChaCha20Poly1305, msg: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg, aad })
        .expect("ChaCha20-Poly1305 encryption of a short secret cannot fail");
    let mut out = nonce.to_vec();
    out.extend(sealed);
    out
}

fn open_with(cipher: &ChaCha20Poly1305, bytes: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    if bytes.len() <= NONCE_LEN {
        return Err(VaultError::Open);
    }
    let (nonce, msg) = bytes.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg, aad })
        .map_err(|_| VaultError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let vault = Vault::from_master(&[7u8; 32]);
        let sealed = vault.seal(b"totp secret", "user-1");
        assert!(!sealed.contains("totp"));
        assert_eq!(vault.unseal(&sealed, "user-1").unwrap(), b"totp secret");
        assert!(
            vault.unseal(&sealed, "user-2").is_err(),
            "bound to its owner"
        );
        assert!(
            Vault::from_master(&[8u8; 32])
                .unseal(&sealed, "user-1")
                .is_err(),
            "another key"
        );
        assert!(vault.unseal("garbage", "user-1").is_err());
        assert_ne!(
            vault.seal(b"totp secret", "user-1"),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn codes_are_url_safe_and_open_only_as_codes() {
        let vault = Vault::from_master(&[7u8; 32]);
        let code = vault.seal_code(b"grant content");
        assert!(code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(vault.open_code(&code).unwrap(), b"grant content");
        assert!(
            Vault::from_master(&[8u8; 32]).open_code(&code).is_err(),
            "another key"
        );
        // A sealed TOTP secret is no code, and a code no TOTP secret: the keys differ.
        let secret = vault.seal(b"grant content", "authorization code");
        let as_code = URL_SAFE_NO_PAD.encode(STANDARD_NO_PAD.decode(&secret).unwrap());
        assert!(vault.open_code(&as_code).is_err());
        let as_secret = STANDARD_NO_PAD.encode(URL_SAFE_NO_PAD.decode(&code).unwrap());
        assert!(vault.unseal(&as_secret, "authorization code").is_err());
        let mut bytes = URL_SAFE_NO_PAD.decode(&code).unwrap();
        bytes[20] ^= 1;
        assert!(
            vault.open_code(&URL_SAFE_NO_PAD.encode(bytes)).is_err(),
            "one bit changed"
        );
        assert!(vault.open_code(&"A".repeat(5000)).is_err());
        assert!(vault.open_code("not base64 !").is_err());
    }

    #[test]
    fn tags_are_keyed() {
        let a = Vault::from_master(&[1u8; 32]);
        let b = Vault::from_master(&[2u8; 32]);
        assert_eq!(a.tag("code"), a.tag("code"));
        assert_ne!(a.tag("code"), b.tag("code"));
        assert_ne!(a.tag("code"), a.tag("other"));
    }

    #[test]
    fn the_master_key_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = Vault::open(dir.path()).unwrap();
        let sealed = first.seal(b"s", "u");
        let again = Vault::open(dir.path()).unwrap();
        assert_eq!(again.unseal(&sealed, "u").unwrap(), b"s");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
