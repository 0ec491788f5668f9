//! Backup codes (NIST SP 800-63B look-up secrets): 80 random bits each,
//! written in lower-case Crockford base32 as four groups of four.

use rand::Rng;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const LENGTH: usize = 16;

/// `count` fresh codes, formatted for people (`xxxx-xxxx-xxxx-xxxx`).
pub fn generate(count: usize) -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..count)
        .map(|_| {
            let raw: String = (0..LENGTH)
                .map(|_| ALPHABET[rng.gen_range(0..32)] as char)
                .collect();
            raw.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The canonical form of a typed code, or `None` if it cannot be one:
/// case, spaces and dashes do not matter, and the letters people confuse
/// with digits (o, i, l) read as those digits.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(LENGTH);
    for c in input.chars() {
        let c = match c.to_ascii_lowercase() {
            ' ' | '-' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
            return None;
        }
        out.push(c);
    }
    (out.len() == LENGTH).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_well_formed_and_normalize_to_themselves() {
        let codes = generate(10);
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19);
            assert_eq!(normalize(code).unwrap(), code.replace('-', ""));
        }
    }

    #[test]
    fn typing_variations_are_forgiven() {
        assert_eq!(
            normalize("ABCD EFGH-JKMN pqrs"),
            Some("abcdefghjkmnpqrs".into())
        );
        assert_eq!(
            normalize("oooo-iiii-llll-0000"),
            Some("0000111111110000".into())
        );
    }

    #[test]
    fn anything_else_is_not_a_code() {
        for input in [
            "",
            "123456",
            "abcd-efgh-jkmn-pqr",
            "abcd-efgh-jkmn-pqrst",
            "abcd-efgh-jkmn-pqu!",
            "ääää-efgh-jkmn-pqrs",
        ] {
            assert_eq!(normalize(input), None, "{input}");
        }
    }
}
