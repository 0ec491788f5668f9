//! The device authorization grant (RFC 8628): user codes people type (§6.1:
//! eight letters without vowels or look-alikes, shown `ABCD-EFGH`), read back
//! however they were typed, and the grant's timings.

use rand::Rng;

/// The grant type a device polls the token endpoint with (§3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How long a device code and its user code work.
pub const LIFETIME_SECS: i64 = 600;

/// How often a device may poll at first (§3.2 `interval`).
pub const INTERVAL_SECS: i64 = 5;

/// How much each `slow_down` adds to the interval (§3.5).
pub const SLOW_DOWN_SECS: i64 = 5;

/// The letters of user codes: consonants only, so that no word is spelled,
/// and without ones easily misread.
pub const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code: 20^8, about 2^34.6 codes, against a few hundred
/// live at once and a page that takes a code at a time.
pub const CODE_LEN: usize = 8;

/// A fresh user code, as shown: `ABCD-EFGH`.
pub fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let letters: String = (0..CODE_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    shown(&letters)
}

/// A user code as typed (any case, with or without the dash or spaces)
/// in its shown form; `None` when it cannot be one.
pub fn read_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let fits = letters.len() == CODE_LEN && letters.bytes().all(|b| ALPHABET.contains(&b));
    fits.then(|| shown(&letters))
}

fn shown(letters: &str) -> String {
    format!("{}-{}", &letters[..4], &letters[4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_unambiguous_letters_in_two_groups() {
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), 9, "{code}");
            assert_eq!(&code[4..5], "-");
            assert!(
                code.replace('-', "").bytes().all(|b| ALPHABET.contains(&b)),
                "{code}"
            );
        }
        for ambiguous in [b'A', b'E', b'I', b'O', b'U', b'Y', b'0', b'1'] {
            assert!(!ALPHABET.contains(&ambiguous));
        }
        assert_ne!(new_user_code(), new_user_code());
    }

    #[test]
    fn a_typed_code_is_read_in_any_case_and_spacing() {
        assert_eq!(read_user_code("bcdf-ghjk").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(read_user_code(" BCDFGHJK ").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(read_user_code("bcd fgh jk").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(read_user_code("BCDF-GHJ"), None, "too short");
        assert_eq!(read_user_code("BCDF-GHJKL"), None, "too long");
        assert_eq!(
            read_user_code("ABCD-EFGH"),
            None,
            "vowels are never in a code"
        );
        assert_eq!(read_user_code("BCDF-GHJ€"), None);
        assert_eq!(read_user_code(""), None);
    }
}
