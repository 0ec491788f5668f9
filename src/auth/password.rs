//! Password hashing with argon2id (PHC strings) of the NFKC-normalised
//! password, the check that says when a stored hash should be made again,
//! and the dummy hash that makes an unknown username cost as much as a wrong
//! password.

use std::cell::RefCell;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::password_rules::normalise;

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

thread_local! {
    /// Argon2 memory that this thread keeps between hashes, once it asked to.
    static MEMORY: RefCell<Option<Vec<Block>>> = const { RefCell::new(None) };
}

/// Makes this thread keep its argon2 memory for its next hash: the hashing
/// threads allocate it once, so that the process's memory stays flat however
/// many sign-ins there are. Other threads free it after each hash.
pub fn keep_memory_on_this_thread() {
    MEMORY.with(|memory| {
        memory.borrow_mut().get_or_insert_with(Vec::new);
    });
}

/// Runs `work` with `blocks` of argon2 memory.
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|memory| match memory.borrow_mut().as_mut() {
        Some(kept) => {
            if kept.len() < blocks {
                kept.resize(blocks, Block::default());
            }
            work(&mut kept[..blocks])
        }
        None => work(&mut vec![Block::default(); blocks]),
    })
}

/// Hashes a password, NFKC-normalised, into a PHC string (blocking: call it
/// off the async runtime).
pub fn hash(password: &str, cost: HashCost) -> Result<String, PasswordError> {
    let password = normalise(password);
    let password = password.as_str();
    let argon = hasher(cost)?;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    let params = argon.params().clone();
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        with_memory(params.block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, memory)
        })
        .map_err(Into::into)
    })
    .map_err(|e| PasswordError::Hash(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| PasswordError::Hash(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// What a password check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, and the stored hash should be made again: it has other
    /// parameters than the configured cost, or was made of the password
    /// before it was normalised.
    RightButStale,
}

/// Verifies a password against a PHC string using the parameters stored in it
/// (blocking). A malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    check(password, phc, None) != Verdict::Wrong
}

/// Verifies `password` against `phc` (blocking): its NFKC form, and, for a
/// hash stored before passwords were normalised, the password as typed; with
/// a `cost`, says whether the hash is stale.
pub fn check(password: &str, phc: &str, cost: Option<HashCost>) -> Verdict {
    let normal = normalise(password);
    let as_typed = || normal != password && verify_exact(password, phc);
    if verify_exact(&normal, phc) {
        match cost.is_some_and(|cost| !is_current(phc, cost)) {
            true => Verdict::RightButStale,
            false => Verdict::Right,
        }
    } else if as_typed() {
        Verdict::RightButStale
    } else {
        Verdict::Wrong
    }
}

/// Whether `phc` is an argon2id v1.3 hash at exactly `cost`.
pub fn is_current(phc: &str, cost: HashCost) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into())
        && (params.m_cost(), params.t_cost(), params.p_cost())
            == (cost.memory_kib, cost.iterations, cost.parallelism)
}

/// Verifies the bytes of `password` as they are.
fn verify_exact(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = Output::init_with(expected.len(), |out| {
        with_memory(params.block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, memory)
        })
        .map_err(Into::into)
    });
    // `Output`'s equality compares in constant time.
    computed.is_ok_and(|computed| computed == expected)
}

/// A PHC string at the configured cost that no password matches, verified
/// against when the username is unknown so that the answer takes as long as a
/// wrong password. Its salt and output are random bytes rather than a computed
/// hash: checking it costs a full hash, making it costs nothing at start.
pub fn dummy_hash(cost: HashCost) -> Result<String, PasswordError> {
    use argon2::password_hash::rand_core::RngCore;
    let params = hasher(cost)?.params().clone();
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    OsRng.fill_bytes(&mut output);
    let salt = SaltString::generate(&mut OsRng);
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| PasswordError::Hash(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|e| PasswordError::Hash(e.to_string()))?),
    };
    Ok(phc.to_string())
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
    fn hashes_agree_with_the_argon2_crates_own_hashing_and_checking() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash("correct horse", CHEAP).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = hasher(CHEAP)
            .unwrap()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify("battery staple", &theirs));
        assert!(!verify("battery stapler", &theirs));
        // argon2i and argon2d hashes carry their own algorithm.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify("pw", &argon2i));
        assert!(!verify("pw", &argon2i.replace("argon2i$", "argon2id$")));
    }

    #[test]
    fn the_dummy_hash_has_the_configured_cost_and_matches_nothing() {
        let dummy = dummy_hash(CHEAP).unwrap();
        assert!(dummy.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{dummy}");
        assert_eq!(PasswordHash::new(&dummy).unwrap().hash.unwrap().len(), 32);
        assert!(!verify("", &dummy));
        assert!(!verify("password", &dummy));
        assert_ne!(dummy, dummy_hash(CHEAP).unwrap());
    }

    /// The argon2 crate's own hash of the bytes as given, as stored before
    /// passwords were normalised.
    fn unnormalised_hash(password: &str, cost: HashCost) -> String {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        hasher(cost)
            .unwrap()
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_normalised_password_is_hashed_so_either_form_verifies() {
        // "é" precomposed (U+00E9) and as "e" with a combining accent.
        let composed = "caf\u{e9} au lait";
        let decomposed = "cafe\u{301} au lait";
        let phc = hash(decomposed, CHEAP).unwrap();
        assert_eq!(check(composed, &phc, Some(CHEAP)), Verdict::Right);
        assert_eq!(check(decomposed, &phc, Some(CHEAP)), Verdict::Right);
        assert_eq!(check("cafe au lait", &phc, Some(CHEAP)), Verdict::Wrong);
    }

    #[test]
    fn hashes_of_other_parameters_or_unnormalised_passwords_are_stale() {
        use argon2::password_hash::PasswordHasher;
        let old = unnormalised_hash("cafe\u{301} au lait", CHEAP);
        assert_eq!(
            check("cafe\u{301} au lait", &old, Some(CHEAP)),
            Verdict::RightButStale
        );
        assert_eq!(
            check("caf\u{e9} au lait", &old, Some(CHEAP)),
            Verdict::Wrong
        );
        let weaker = hash("pw", CHEAP).unwrap();
        let stronger = HashCost {
            memory_kib: 128,
            ..CHEAP
        };
        assert_eq!(check("pw", &weaker, Some(stronger)), Verdict::RightButStale);
        assert_eq!(check("pw", &weaker, Some(CHEAP)), Verdict::Right);
        assert_eq!(check("pw", &weaker, None), Verdict::Right);
        assert_eq!(check("wrong", &weaker, Some(stronger)), Verdict::Wrong);
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(!is_current(&argon2i, CHEAP));
        assert!(is_current(&weaker, CHEAP));
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
