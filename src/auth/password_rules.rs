//! What a new password must be (NIST SP 800-63B-4 §3.1.1): long enough,
//! counted in Unicode code points after NFKC normalisation; not too long to
//! hash; and not a common or easily guessed one. There are no composition
//! rules. "Common" is zxcvbn's estimate over its dictionaries of common and
//! breached passwords, words and names, with the user's own username and
//! address added: a password it guesses within a million tries is refused.

use unicode_normalization::UnicodeNormalization;

/// The shortest minimum the settings accept (NIST's floor).
pub const MIN_LEN_FLOOR: usize = 8;
/// Every password of up to this many characters is accepted; longer ones
/// are refused (they would only cost hashing time).
pub const MAX_LEN: usize = 256;

/// A password as it is hashed and checked: NFKC-normalised, so that the
/// same password typed on two keyboards is one password.
pub fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordFault {
    #[error("the password must have at least {min} characters")]
    TooShort { min: usize },
    #[error("the password must have at most {MAX_LEN} characters")]
    TooLong,
    #[error("the password is too common or too easy to guess")]
    Common,
}

impl PasswordFault {
    /// What the form says.
    pub fn words(self) -> String {
        match self {
            PasswordFault::TooShort { min } => {
                format!("The password must have at least {min} characters.")
            }
            PasswordFault::TooLong => {
                format!("The password must have at most {MAX_LEN} characters.")
            }
            PasswordFault::Common => "This password is too common or too easy to guess: it is \
                 in lists of leaked passwords or made of common words or patterns. Choose a \
                 longer one, such as a few unrelated words."
                .to_string(),
        }
    }
}

/// The fault of `password` as a new password of at least `min_len`
/// characters, for a user known by `context` (username, email address).
pub fn fault(password: &str, min_len: usize, context: &[&str]) -> Option<PasswordFault> {
    let password = normalise(password);
    let len = password.chars().count();
    if len < min_len {
        return Some(PasswordFault::TooShort { min: min_len });
    }
    if len > MAX_LEN {
        return Some(PasswordFault::TooLong);
    }
    // The local part of an address is what people reuse.
    let mut inputs: Vec<&str> = Vec::new();
    for item in context {
        inputs.push(item);
        if let Some((local, _)) = item.split_once('@') {
            inputs.push(local);
        }
    }
    if zxcvbn::zxcvbn(&password, &inputs).score() < zxcvbn::Score::Two {
        return Some(PasswordFault::Common);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_code_points_after_normalising() {
        assert_eq!(
            fault("short", 8, &[]),
            Some(PasswordFault::TooShort { min: 8 })
        );
        // Seven code points, fourteen bytes: too short however it is stored.
        assert_eq!(
            fault("ééééééé", 8, &[]),
            Some(PasswordFault::TooShort { min: 8 })
        );
        // The ligature "ﬃ" is three letters once normalised.
        assert_eq!(normalise("ﬃ"), "ffi");
        assert_eq!(normalise("Å"), "Å");
        assert_eq!(normalise("\u{FF21}"), "A");
        assert_eq!(
            fault("velvet orbit ladder", 15, &[]),
            None,
            "nineteen characters pass a minimum of fifteen"
        );
        assert_eq!(
            fault("velvet orbit", 15, &[]),
            Some(PasswordFault::TooShort { min: 15 })
        );
    }

    #[test]
    fn long_passwords_are_accepted_up_to_the_limit() {
        let long = "correct horse battery staple ".repeat(8);
        assert!(long.chars().count() > 64 && long.chars().count() <= MAX_LEN);
        assert_eq!(fault(&long, 8, &[]), None);
        let too_long = "x9!".repeat(100);
        assert_eq!(fault(&too_long, 8, &[]), Some(PasswordFault::TooLong));
    }

    #[test]
    fn common_and_breached_passwords_are_refused() {
        for common in [
            "password",
            "password1",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "Password123",
            "11111111",
            "abcdefgh",
            "football",
            "P@ssw0rd",
            "letmein!",
        ] {
            assert_eq!(
                fault(common, 8, &[]),
                Some(PasswordFault::Common),
                "{common}"
            );
        }
    }

    #[test]
    fn the_users_own_name_and_address_count_as_common() {
        assert_eq!(fault("vurnakoltis", 8, &[]), None);
        assert_eq!(
            fault("vurnakoltis", 8, &["vurnakoltis"]),
            Some(PasswordFault::Common)
        );
        assert_eq!(
            fault("kowalczyk1", 8, &["kowalczyk1@example.com"]),
            Some(PasswordFault::Common)
        );
    }

    #[test]
    fn there_are_no_composition_rules() {
        for good in [
            "velvet orbit ladder",
            "a long admin password",
            "bob's new password",
            "zugspitze-fjord-84",
            "ταχίστη αλώπηξ βαφής",
        ] {
            assert_eq!(fault(good, 8, &[]), None, "{good}");
        }
    }
}
