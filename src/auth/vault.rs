//! Secrets at rest: TOTP secrets sealed with ChaCha20-Poly1305, backup codes
//! stored as HMAC-SHA256 tags. Both keys derive from one 256-bit master key
//! kept in `keys/secrets.key` (mode 0600, generated on first start), so a
//! database dump alone reveals neither.

use std::path::Path;

use base64::engine::general_purpose::STANDARD_NO_PAD;
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
    mac_key: [u8; 32],
}

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
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: context.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD_NO_PAD.encode(out)
    }

    pub fn unseal(&self, sealed: &str, context: &str) -> Result<Vec<u8>, VaultError> {
        let bytes = STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| VaultError::Open)?;
        if bytes.len() <= NONCE_LEN {
            return Err(VaultError::Open);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Open)
    }

    /// A keyed tag of `value` (hex), stored in place of a backup code.
    pub fn tag(&self, value: &str) -> String {
        hex::encode(derive(&self.mac_key, value))
    }
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
