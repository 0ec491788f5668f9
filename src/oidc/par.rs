//! Pushed authorization requests (RFC 9126): the `request_uri` handed back
//! for a parked request, and how long it lives.

/// How long a pushed request waits for its `/authorize` (RFC 9126 §2.2).
pub const LIFETIME_SECS: i64 = 60;

/// The prefix RFC 9126 §2.2 gives every `request_uri`.
const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// Pushed requests are parked beside those waiting for a sign-in, under ids
/// of their own kind, so that neither can stand for the other.
const ID_PREFIX: &str = "par.";

/// The parked id of a pushed request with `random` in it.
pub fn parked_id(random: &str) -> String {
    format!("{ID_PREFIX}{random}")
}

/// Whether a parked id is a pushed request's.
pub fn is_pushed(parked_id: &str) -> bool {
    parked_id.starts_with(ID_PREFIX)
}

/// The `request_uri` of a parked pushed request.
pub fn request_uri(parked_id: &str) -> String {
    format!("{URN}{parked_id}")
}

/// The parked id a presented `request_uri` names, if it is one of ours.
pub fn parked_id_of(request_uri: &str) -> Option<&str> {
    let id = request_uri.strip_prefix(URN)?;
    let random = id.strip_prefix(ID_PREFIX)?;
    let well_formed = !random.is_empty()
        && random.len() <= 64
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_uri_names_its_parked_request_and_nothing_else() {
        let id = parked_id("abcDEF-_123");
        let uri = request_uri(&id);
        assert_eq!(uri, "urn:ietf:params:oauth:request_uri:par.abcDEF-_123");
        assert_eq!(parked_id_of(&uri), Some(id.as_str()));
        for other in [
            "urn:ietf:params:oauth:request_uri:abc",
            "urn:ietf:params:oauth:request_uri:par.",
            "urn:ietf:params:oauth:request_uri:par.a b",
            "https://client.example/request.jwt",
            "par.abc",
        ] {
            assert_eq!(parked_id_of(other), None, "{other}");
        }
    }
}
