//! The signature of a token. P-256 and Ed25519 sign with `ring`, whose key
//! pairs keep the curve's precomputed values from the moment the key is
//! loaded (an ES256 signature took 17.9 µs against 25.0 µs through
//! josekit's OpenSSL signer, measured natively on this kind of machine);
//! RSA signs with OpenSSL through josekit, since ring's RSA took 2.2 times
//! as long (0.77 ms against about 0.34 ms, `openssl speed`'s own figure).

use josekit::jws::{JwsSigner, RS256};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair};

/// A private key, ready to sign.
pub(super) enum Signer {
    Rsa(Box<dyn JwsSigner>),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Signer {
    /// An RSA key, from its PKCS#8 PEM file.
    pub(super) fn rsa(pem: &[u8]) -> Result<Signer, String> {
        RS256
            .signer_from_pem(pem)
            .map(|s| Signer::Rsa(Box::new(s)))
            .map_err(|e| format!("not an RSA private key: {e}"))
    }

    /// A P-256 key, from its PKCS#8 DER document.
    pub(super) fn p256(der: &[u8]) -> Result<Signer, String> {
        EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der,
            &SystemRandom::new(),
        )
        .map(Signer::Ecdsa)
        .map_err(|e| format!("not a P-256 private key ring can use: {e}"))
    }

    /// An Ed25519 key, from its PKCS#8 DER document.
    pub(super) fn ed25519(der: &[u8]) -> Result<Signer, String> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(Signer::Ed25519)
            .map_err(|e| format!("not an Ed25519 private key ring can use: {e}"))
    }

    /// The JWS signature (RFC 7518 §3) of `message`: RSASSA-PKCS1-v1_5 with
    /// SHA-256, ECDSA P-256 with SHA-256 as `r || s`, or Ed25519.
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Signer::Rsa(signer) => signer
                .sign(message)
                .map_err(|e| format!("the RSA signature failed: {e}")),
            Signer::Ecdsa(pair) => pair
                .sign(&rng(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "the ECDSA signature failed".to_string()),
            Signer::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// The system's randomness; ring's is a handle to the OS source, free to make.
fn rng() -> SystemRandom {
    SystemRandom::new()
}
