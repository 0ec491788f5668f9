//! `application/x-www-form-urlencoded` parameters as the protocol endpoints
//! read them (RFC 6749 §3.1): empty values count as absent, and a parameter
//! may not appear twice.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
    duplicated: Vec<String>,
}

impl Params {
    /// Parses a query string or form body; invalid UTF-8 and bad escapes are
    /// replaced rather than rejected, and a later check refuses what they spoil.
    /// A parameter holding a NUL character counts as absent: no identifier,
    /// secret or text here has one, and databases refuse to store it.
    pub fn parse(input: &[u8]) -> Params {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(input) {
            if value.is_empty() || value.contains('\0') || name.contains('\0') {
                continue;
            }
            if params.values.contains_key(name.as_ref()) {
                if !params.duplicated.iter().any(|d| d == name.as_ref()) {
                    params.duplicated.push(name.into_owned());
                }
                continue;
            }
            params.values.insert(name.into_owned(), value.into_owned());
        }
        params
    }

    /// The value of `name`, or an error naming it if it was sent twice.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Duplicated> {
        if self.duplicated.iter().any(|d| d == name) {
            return Err(Duplicated(name.to_string()));
        }
        Ok(self.values.get(name).map(String::as_str))
    }

    /// The parameters sent once, as (name, value) pairs; those sent twice
    /// are left out, as absent.
    pub fn single(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values
            .iter()
            .filter(|(name, _)| !self.duplicated.contains(name))
            .map(|(name, value)| (name.as_str(), value.as_str()))
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
    fn hostile_bytes_do_not_panic() {
        let params = Params::parse(b"a=%ff%fe&%=%&b=\xff\xfe&&&=");
        assert!(params.get("a").unwrap().is_some());
    }
}
