//! `application/x-www-form-urlencoded` parameters as the protocol endpoints
//! read them (RFC 6749 §3.1): empty values count as absent, and a parameter
//! may not appear twice.

/// Parameters by name (sorted), each with its first value: a request has a
/// dozen, where a sorted list costs less than hashing every name (and stays
/// O(n log n) for a hostile body of thousands).
#[derive(Debug, Default)]
pub struct Params {
    /// (name, first value, sent more than once), by name.
    values: Vec<(String, String, bool)>,
    /// The names sent more than once, in the order their repeats came.
    duplicated: Vec<String>,
}

impl Params {
    /// Parses a query string or form body; invalid UTF-8 and bad escapes are
    /// replaced rather than rejected, and a later check refuses what they spoil.
    /// A parameter holding a NUL character counts as absent: no identifier,
    /// secret or text here has one, and databases refuse to store it.
    pub fn parse(input: &[u8]) -> Params {
        let mut pairs: Vec<(usize, String, String)> = form_urlencoded::parse(input)
            .filter(|(name, value)| {
                !value.is_empty() && !value.contains('\0') && !name.contains('\0')
            })
            .enumerate()
            .map(|(i, (name, value))| (i, name.into_owned(), value.into_owned()))
            .collect();
        // Stable: within a name, the pairs keep the order they came in.
        pairs.sort_by(|a, b| a.1.cmp(&b.1));
        let mut values: Vec<(String, String, bool)> = Vec::with_capacity(pairs.len());
        let mut repeats: Vec<(usize, String)> = Vec::new();
        for (i, name, value) in pairs {
            match values.last_mut() {
                Some((last, _, repeated)) if *last == name => {
                    if !*repeated {
                        *repeated = true;
                        repeats.push((i, name));
                    }
                }
                _ => values.push((name, value, false)),
            }
        }
        repeats.sort_by_key(|(i, _)| *i);
        Params {
            values,
            duplicated: repeats.into_iter().map(|(_, name)| name).collect(),
        }
    }

    /// The value of `name`, or an error naming it if it was sent twice.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Duplicated> {
        let found = self
            .values
            .binary_search_by(|(n, _, _)| n.as_str().cmp(name));
        match found.map(|i| &self.values[i]) {
            Ok((_, _, true)) => Err(Duplicated(name.to_string())),
            Ok((_, value, false)) => Ok(Some(value.as_str())),
            Err(_) => Ok(None),
        }
    }

    /// The parameters sent once, as (name, value) pairs; those sent twice
    /// are left out, as absent.
    pub fn single(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values
            .iter()
            .filter(|(_, _, repeated)| !repeated)
            .map(|(name, value, _)| (name.as_str(), value.as_str()))
    }

    /// The first parameter that was sent more than once.
    pub fn first_duplicate(&self) -> Option<&str> {
        self.duplicated.first().map(String::as_str)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Duplicated(pub String);

impl std::fmt::Display for Duplicated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parameter {} was sent more than once", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded_and_empty_ones_are_absent() {
        let params = Params::parse(b"a=1&b=&c=x%20y+z");
        assert_eq!(params.get("a").unwrap(), Some("1"));
        assert_eq!(params.get("b").unwrap(), None);
        assert_eq!(params.get("c").unwrap(), Some("x y z"));
        assert_eq!(params.get("d").unwrap(), None);
    }

    #[test]
    fn a_repeated_parameter_is_an_error() {
        let params = Params::parse(b"state=1&state=2&a=1");
        assert_eq!(params.get("state"), Err(Duplicated("state".into())));
        assert_eq!(params.first_duplicate(), Some("state"));
        assert_eq!(params.get("a").unwrap(), Some("1"));
    }

    #[test]
    fn a_nul_character_makes_a_parameter_absent() {
        let params = Params::parse(b"client_id=%00&nonce=a%00b&state=s");
        assert_eq!(params.get("client_id").unwrap(), None);
        assert_eq!(params.get("nonce").unwrap(), None);
        assert_eq!(params.get("state").unwrap(), Some("s"));
    }

    #[test]
    fn repeats_are_named_in_the_order_they_came_and_the_first_value_counts() {
        let params = Params::parse(b"z=1&b=2&z=3&a=4&b=5&b=6&z=7");
        assert_eq!(params.first_duplicate(), Some("z"));
        assert_eq!(params.get("b"), Err(Duplicated("b".into())));
        assert_eq!(params.get("a").unwrap(), Some("4"));
        let single: Vec<_> = params.single().collect();
        assert_eq!(single, vec![("a", "4")]);
        let params = Params::parse(b"m=1&n=&n=2");
        assert_eq!(
            params.get("n").unwrap(),
            Some("2"),
            "an empty value is absent, not a repeat"
        );
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        let params = Params::parse(b"a=%ff%fe&%=%&b=\xff\xfe&&&=");
        assert!(params.get("a").unwrap().is_some());
    }
}
