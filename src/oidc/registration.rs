//! What makes a relying party's registration acceptable, for the command
//! line, the console and its API alike.

/// The ID-token signing algorithms a client may ask for.
pub const ID_TOKEN_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// A client's registration as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment.
pub fn check_uri(uri: &str) -> Result<(), String> {
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{uri:?} must not have a fragment"));
    }
    if parsed.cannot_be_a_base() && !parsed.scheme().contains('.') {
        return Err(format!("{uri:?} is not a usable redirect URI"));
    }
    if uri.len() > 2000 {
        return Err(format!("{uri:?} is longer than 2000 characters"));
    }
    Ok(())
}

/// A client id: 1 to 255 visible ASCII characters.
pub fn check_client_id(client_id: &str) -> Result<(), String> {
    if client_id.is_empty()
        || client_id.len() > 255
        || !client_id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err("a client_id has 1 to 255 visible ASCII characters".into());
    }
    Ok(())
}

/// Checks every part of a registration; the error says which and why.
pub fn check(registration: &Registration) -> Result<(), String> {
    check_client_id(&registration.client_id)?;
    if registration.redirect_uris.is_empty() {
        return Err("a client needs at least one redirect URI".into());
    }
    if registration.redirect_uris.len() + registration.post_logout_redirect_uris.len() > 50 {
        return Err("a client has at most 50 URIs".into());
    }
    for uri in registration
        .redirect_uris
        .iter()
        .chain(&registration.post_logout_redirect_uris)
        .chain(&registration.backchannel_logout_uri)
    {
        check_uri(uri)?;
    }
    if !ID_TOKEN_ALGS.contains(&registration.id_token_alg.as_str()) {
        return Err(format!(
            "the ID-token algorithm is one of {}",
            ID_TOKEN_ALGS.join(", ")
        ));
    }
    Ok(())
}

/// URIs typed one per line (or separated by spaces), blanks ignored.
pub fn uri_lines(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> Registration {
        Registration {
            client_id: "portal".into(),
            redirect_uris: vec!["https://portal.example/cb".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            id_token_alg: "RS256".into(),
        }
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(check_uri("https://app.example/cb").is_ok());
        assert!(check_uri("http://127.0.0.1:9/cb").is_ok());
        assert!(check_uri("com.example.app:/callback").is_ok());
        assert!(check_uri("/relative").is_err());
        assert!(check_uri("https://app.example/cb#frag").is_err());
        assert!(check_uri("not a uri").is_err());
    }

    #[test]
    fn registrations_are_checked_whole() {
        assert_eq!(check(&registration()), Ok(()));
        let mut r = registration();
        r.redirect_uris.clear();
        assert!(check(&r).unwrap_err().contains("at least one"));
        let mut r = registration();
        r.id_token_alg = "none".into();
        assert!(check(&r).unwrap_err().contains("RS256, ES256, EdDSA"));
        let mut r = registration();
        r.client_id = "has space".into();
        assert!(check(&r).is_err());
        let mut r = registration();
        r.backchannel_logout_uri = Some("/logout".into());
        assert!(check(&r).unwrap_err().contains("absolute"));
    }

    #[test]
    fn uris_are_read_one_per_line() {
        assert_eq!(
            uri_lines("https://a.example/cb\r\n\n  https://b.example/cb  "),
            vec!["https://a.example/cb", "https://b.example/cb"]
        );
    }
}
