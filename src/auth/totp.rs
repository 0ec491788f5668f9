//! TOTP (RFC 6238) as authenticator apps implement it: SHA-1, 6 digits,
//! 30-second steps, a 160-bit secret, one step of drift either way. Each time
//! step is accepted once: the caller stores the step this returns and passes
//! it back as `last_step`.

use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use super::secret::constant_time_eq;

pub const STEP_SECS: i64 = 30;
pub const DIGITS: usize = 6;
pub const SECRET_BYTES: usize = 20;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("a code has 6 digits")]
    Malformed,
    #[error("the code is wrong")]
    Wrong,
    #[error("the code was already used")]
    Replayed,
    #[error("the stored secret is unusable")]
    BadSecret,
}

/// A fresh 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<TOTP, TotpError> {
    // The otpauth label separates issuer and account with ':', so neither may contain one.
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS as u64,
        secret.to_vec(),
        Some(clean(issuer)),
        clean(account),
    )
    .map_err(|_| TotpError::BadSecret)
}

/// The code for the time step containing `unix_secs` (for tests and examples).
pub fn code_at(secret: &[u8], unix_secs: i64) -> Result<String, TotpError> {
    Ok(totp(secret, "x", "x")?.generate(unix_secs.max(0) as u64))
}

/// Checks `code` at time `now`; returns the matched time step, which must be
/// newer than `last_step` (a code is single-use).
pub fn verify(secret: &[u8], code: &str, now: i64, last_step: i64) -> Result<i64, TotpError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let totp = totp(secret, "x", "x")?;
    let current = now.div_euclid(STEP_SECS);
    let mut replayed = false;
    for step in [current - 1, current, current + 1] {
        if step < 0 {
            continue;
        }
        let expected = totp.generate((step * STEP_SECS) as u64);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            if step > last_step {
                return Ok(step);
            }
            replayed = true;
        }
    }
    Err(if replayed {
        TotpError::Replayed
    } else {
        TotpError::Wrong
    })
}

/// What the enrolment page shows: the `otpauth://` link and the secret in
/// base32, grouped by four for typing.
pub struct Provisioning {
    pub url: String,
    pub secret_base32: String,
    pub secret_grouped: String,
}

pub fn provisioning(secret: &[u8], issuer: &str, account: &str) -> Result<Provisioning, TotpError> {
    let totp = totp(secret, issuer, account)?;
    let secret_base32 = totp.get_secret_base32();
    let secret_grouped = secret_base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Provisioning {
        url: totp.get_url(),
        secret_base32,
        secret_grouped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B, SHA-1 key, truncated to 6 digits.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_vectors() {
        assert_eq!(code_at(RFC_SECRET, 59).unwrap(), "287082");
        assert_eq!(code_at(RFC_SECRET, 1111111109).unwrap(), "081804");
        assert_eq!(code_at(RFC_SECRET, 1234567890).unwrap(), "005924");
        assert_eq!(code_at(RFC_SECRET, 2000000000).unwrap(), "279037");
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let now = 1_800_000_000;
        let step = now / STEP_SECS;
        for drift in [-1, 0, 1] {
            let code = code_at(RFC_SECRET, now + drift * STEP_SECS).unwrap();
            assert_eq!(verify(RFC_SECRET, &code, now, 0), Ok(step + drift));
        }
        for drift in [-2, 2] {
            let code = code_at(RFC_SECRET, now + drift * STEP_SECS).unwrap();
            assert_eq!(verify(RFC_SECRET, &code, now, 0), Err(TotpError::Wrong));
        }
    }

    #[test]
    fn a_code_for_a_used_step_is_a_replay() {
        let now = 1_800_000_000;
        let code = code_at(RFC_SECRET, now).unwrap();
        let step = verify(RFC_SECRET, &code, now, 0).unwrap();
        assert_eq!(
            verify(RFC_SECRET, &code, now, step),
            Err(TotpError::Replayed)
        );
        let previous = code_at(RFC_SECRET, now - STEP_SECS).unwrap();
        assert_eq!(
            verify(RFC_SECRET, &previous, now, step),
            Err(TotpError::Replayed),
            "earlier steps too"
        );
    }

    #[test]
    fn malformed_codes_are_refused_early() {
        for code in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                verify(RFC_SECRET, code, 1_800_000_000, 0),
                Err(TotpError::Malformed),
                "{code}"
            );
        }
        let code = code_at(RFC_SECRET, 1_800_000_000).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(
            verify(RFC_SECRET, &spaced, 1_800_000_000, 0).is_ok(),
            "spaces are ignored"
        );
    }

    #[test]
    fn provisioning_has_the_otpauth_link_and_a_typeable_secret() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        let p = provisioning(&secret, "Gatehouse", "ann:acme").unwrap();
        assert!(
            p.url.starts_with("otpauth://totp/Gatehouse:ann%20acme?"),
            "{}",
            p.url
        );
        assert!(p.url.contains("issuer=Gatehouse"));
        assert!(p.url.contains(&format!("secret={}", p.secret_base32)));
        assert_eq!(p.secret_base32.len(), 32);
        assert_eq!(p.secret_grouped.split(' ').count(), 8);
    }
}
