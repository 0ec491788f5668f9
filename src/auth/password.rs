//! Password hashing with argon2id (PHC strings), and the dummy hash that makes
//! an unknown username cost as much as a wrong password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// argon2id cost: memory in KiB, iterations, lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashCost {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        HashCost {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

fn hasher(cost: HashCost) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| PasswordError::Params(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks that a cost is one argon2 accepts.
pub fn validate_cost(cost: HashCost) -> Result<(), PasswordError> {
    hasher(cost).map(|_| ())
}

/// Hashes a password into a PHC string (blocking: call it off the async runtime).
pub fn hash(password: &str, cost: HashCost) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher(cost)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Verifies a password against a PHC string using the parameters stored in it
/// (blocking). A malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The stored string carries its own parameters; argon2 compares in constant time.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a random password at the configured cost, verified against when
/// the username is unknown so that the answer takes as long as a wrong password.
pub fn dummy_hash(cost: HashCost) -> Result<String, PasswordError> {
    hash(&crate::auth::secret::random_token(16), cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashCost = HashCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash("correct horse", CHEAP).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horse!", &phc));
    }

    #[test]
    fn the_default_cost_is_owasps() {
        let phc = hash("pw", HashCost::default()).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn a_malformed_stored_hash_never_matches() {
        assert!(!verify("", "not a hash"));
        assert!(!verify("pw", ""));
    }

    #[test]
    fn an_impossible_cost_is_an_error() {
        assert!(validate_cost(HashCost {
            memory_kib: 1,
            iterations: 0,
            parallelism: 1
        })
        .is_err());
    }
}
