//! What makes a relying party's registration acceptable, for the command
//! line, the console and its API alike, and how a presented redirect URI is
//! matched against what was registered.

/// The ID-token signing algorithms a client may ask for.
pub const ID_TOKEN_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// The longest URI a registration keeps.
pub const MAX_URI_LEN: usize = 2000;

/// Schemes no registered URI may use: they run code in the browser or read
/// its local content instead of reaching the relying party.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "file", "vbscript"];

use crate::oidc::client_assertion::ClientKeys;

/// A client's registration as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
    /// A third-party client: users are asked before it gets their data.
    pub consent: bool,
    /// Only pushed authorization requests (RFC 9126) are accepted.
    pub require_par: bool,
    /// `private_key_jwt`: the client's public keys (a JWK Set), or where to
    /// fetch them; at most one of the two.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// The device authorization grant (RFC 8628) is open to the client.
    pub device_grant: bool,
}

impl Registration {
    /// A `private_key_jwt` client: its keys are given, or where to fetch them.
    pub fn has_keys(&self) -> bool {
        self.jwks.is_some() || self.jwks_uri.is_some()
    }
}

/// What a registered URI is for: each use allows its own schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriKind {
    /// Where the authorization response goes (RFC 6749 §3.1.2).
    Redirect,
    /// Where the browser goes after RP-initiated logout.
    PostLogout,
    /// Where the provider posts logout tokens (Back-Channel Logout 1.0 §2.2).
    Backchannel,
    /// Where the client's public keys are fetched (`private_key_jwt`).
    Jwks,
}

impl UriKind {
    pub fn name(self) -> &'static str {
        match self {
            UriKind::Redirect => "redirect URI",
            UriKind::PostLogout => "post-logout redirect URI",
            UriKind::Backchannel => "back-channel logout URI",
            UriKind::Jwks => "JWKS URI",
        }
    }
}

/// Whether `presented` is one of the `registered` URIs: an exact,
/// byte-for-byte comparison (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3). Nothing is
/// normalised: not case, percent-encoding, dot segments, default ports nor
/// trailing characters, so that what the browser is sent to is exactly what
/// was registered.
pub fn uri_is_registered(registered: &[String], presented: &str) -> bool {
    registered
        .iter()
        .any(|uri| uri.as_bytes() == presented.as_bytes())
}

/// The scheme a browser would read in `uri`, lowercased: it skips spaces and
/// control characters wherever they are.
fn scheme_as_read(uri: &str) -> Option<String> {
    let visible: String = uri
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .take(32)
        .collect();
    let (scheme, _) = visible.split_once(':')?;
    Some(scheme.to_ascii_lowercase())
}

/// A loopback host (RFC 8252 §7.3 and §8.3): 127.0.0.1, [::1] or localhost.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    }
}

/// A redirect URI: see [`check_uri_as`].
pub fn check_uri(uri: &str) -> Result<(), String> {
    check_uri_as(UriKind::Redirect, uri)
}

/// A URI registered as `kind`: absolute, without a fragment, user information,
/// spaces or control characters, at most 2000 characters; `https`, or `http`
/// on a loopback host; for a redirect URI also a native app's private-use
/// scheme (RFC 8252 §7.1: a reverse domain name, so it contains a '.');
/// never `javascript:`, `data:`, `file:` or `vbscript:`. The error names the
/// URI and says why.
pub fn check_uri_as(kind: UriKind, uri: &str) -> Result<(), String> {
    let what = kind.name();
    if uri.len() > MAX_URI_LEN {
        let start: String = uri.chars().take(60).collect();
        return Err(format!(
            "the {what} {start:?}… is longer than {MAX_URI_LEN} characters"
        ));
    }
    if let Some(scheme) = scheme_as_read(uri) {
        if FORBIDDEN_SCHEMES.contains(&scheme.as_str()) {
            return Err(format!(
                "the {what} {uri:?} uses the {scheme}: scheme, which is never allowed"
            ));
        }
    }
    let parsed = url::Url::parse(uri)
        .map_err(|e| format!("the {what} {uri:?} is not an absolute URI: {e}"))?;
    // The parser drops them; what is stored and matched must be what is seen.
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the {what} {uri:?} must not contain spaces or control characters"
        ));
    }
    if parsed.fragment().is_some() {
        return Err(format!("the {what} {uri:?} must not have a fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "the {what} {uri:?} must not contain user information (a name before an @)"
        ));
    }
    let loopback = "plain http only on a loopback host: 127.0.0.1, [::1] or localhost";
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(format!("the {what} {uri:?} must use https ({loopback})")),
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => Err(format!(
            "the {what} {uri:?} uses the {scheme}: scheme, which is never allowed"
        )),
        scheme if kind == UriKind::Redirect && scheme.contains('.') => Ok(()),
        _ if kind == UriKind::Redirect => Err(format!(
            "the {what} {uri:?} must use https ({loopback}), or for a native app \
             a private-use scheme named after its reverse domain, such as com.example.app:/cb"
        )),
        _ => Err(format!("the {what} {uri:?} must use https ({loopback})")),
    }
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
    let redirect = registration
        .redirect_uris
        .iter()
        .map(|u| (UriKind::Redirect, u));
    let post_logout = registration
        .post_logout_redirect_uris
        .iter()
        .map(|u| (UriKind::PostLogout, u));
    let backchannel = registration
        .backchannel_logout_uri
        .iter()
        .map(|u| (UriKind::Backchannel, u));
    let jwks_uri = registration.jwks_uri.iter().map(|u| (UriKind::Jwks, u));
    let uris = redirect
        .chain(post_logout)
        .chain(backchannel)
        .chain(jwks_uri);
    for (kind, uri) in uris {
        check_uri_as(kind, uri)?;
    }
    if registration.jwks.is_some() && registration.jwks_uri.is_some() {
        return Err("a client's keys come from a JWK Set or a JWKS URI, not both".into());
    }
    if let Some(jwks) = &registration.jwks {
        ClientKeys::parse(jwks).map_err(|why| format!("the client's keys: {why}"))?;
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

    const REGISTERED: &str = "https://app.example/cb";

    /// Near misses of `REGISTERED`: each reaches a different place, or is
    /// read differently by some parser, and none may match.
    const VARIANTS: &[&str] = &[
        // User information.
        "https://app.example@evil.example/cb",
        "https://evil.example@app.example/cb",
        "https://app.example/cb@evil.example",
        // Backslashes.
        "https://app.example\\cb",
        "https://app.example\\@evil.example/cb",
        "https://evil.example\\@app.example/cb",
        // Path tricks.
        "https://app.example/cb/..;/evil",
        "https://app.example/x/..;/cb",
        "https://app.example/x/../cb",
        "https://app.example/./cb",
        "https://app.example//cb",
        "https://app.example/cb/",
        "https://app.example/cb/extra",
        "https://app.example/cbx",
        "https://app.example/c",
        // Percent-encoding.
        "https://app.example/%63b",
        "https://app.example/cb%2F..%2Fevil",
        "https://app.example/cb%00",
        "https://%61pp.example/cb",
        // Host case and trailing dot.
        "https://APP.example/cb",
        "https://app.EXAMPLE/cb",
        "https://app.example./cb",
        // Fragment, query.
        "https://app.example/cb#",
        "https://app.example/cb#frag",
        "https://app.example/cb?",
        "https://app.example/cb?next=https://evil.example",
        // Ports.
        "https://app.example:443/cb",
        "https://app.example:8443/cb",
        "https://app.example:/cb",
        // Scheme.
        "http://app.example/cb",
        "HTTPS://app.example/cb",
        "Https://app.example/cb",
        "//app.example/cb",
        "https:/app.example/cb",
        "https:app.example/cb",
        // Another host.
        "https://app.example.evil.example/cb",
        "https://evil-app.example/cb",
        // Spaces and controls.
        " https://app.example/cb",
        "https://app.example/cb ",
        "https://app.example/cb\t",
        "https://app.example/c\nb",
        "",
    ];

    fn registration() -> Registration {
        Registration {
            client_id: "portal".into(),
            redirect_uris: vec!["https://portal.example/cb".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            id_token_alg: "RS256".into(),
            consent: false,
            require_par: false,
            jwks: None,
            jwks_uri: None,
            device_grant: false,
        }
    }

    #[test]
    fn only_the_exact_registered_uri_matches() {
        let registered = vec![REGISTERED.to_string(), "com.example.app:/cb".to_string()];
        assert!(uri_is_registered(&registered, REGISTERED));
        assert!(uri_is_registered(&registered, "com.example.app:/cb"));
        for variant in VARIANTS {
            assert!(
                !uri_is_registered(&registered, variant),
                "{variant:?} must not match {REGISTERED:?}"
            );
        }
        assert!(!uri_is_registered(&registered, "COM.example.app:/cb"));
        assert!(!uri_is_registered(&registered, "com.example.app://cb"));
        assert!(!uri_is_registered(&[], REGISTERED));
    }

    #[test]
    fn the_variants_are_real_near_misses() {
        // Most of them read as the same place to a lenient parser: exactly
        // what an exact comparison is for.
        let same_place = VARIANTS
            .iter()
            .filter(|v| url::Url::parse(v).is_ok_and(|u| u.as_str() == REGISTERED))
            .count();
        assert!(same_place >= 10, "{same_place}");
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(check_uri("https://app.example/cb").is_ok());
        assert!(check_uri("http://127.0.0.1:9/cb").is_ok());
        assert!(check_uri("com.example.app:/callback").is_ok());
        assert!(check_uri("/relative").is_err());
        assert!(check_uri("https://app.example/cb#frag").is_err());
        assert!(check_uri("not a uri")
            .unwrap_err()
            .contains("not an absolute URI"));
    }

    #[test]
    fn uris_are_https_or_loopback_http() {
        for kind in [UriKind::Redirect, UriKind::PostLogout, UriKind::Backchannel] {
            for good in [
                "https://app.example/cb",
                "https://app.example:8443/cb?tenant=1",
                "http://127.0.0.1:9/cb",
                "http://127.0.0.1/cb",
                "http://[::1]:8080/cb",
                "http://localhost:8080/callback",
            ] {
                assert_eq!(check_uri_as(kind, good), Ok(()), "{kind:?} {good}");
            }
            for bad in [
                "http://app.example/cb",
                "http://portal.example/cb",
                "http://localhost.evil.example/cb",
                "http://127.0.0.1.evil.example/cb",
                "http://10.0.0.1/cb",
                "http://[::2]/cb",
                "ftp://app.example/cb",
                "ws://127.0.0.1/cb",
            ] {
                let err = check_uri_as(kind, bad).unwrap_err();
                assert!(err.contains(bad) && err.contains("must use https"), "{err}");
                assert!(err.contains(kind.name()), "the error names the use: {err}");
            }
        }
    }

    #[test]
    fn only_redirect_uris_take_a_private_use_scheme() {
        assert_eq!(
            check_uri_as(UriKind::Redirect, "com.example.app:/cb"),
            Ok(())
        );
        assert_eq!(
            check_uri_as(UriKind::Redirect, "com.example.app:cb"),
            Ok(())
        );
        for kind in [UriKind::PostLogout, UriKind::Backchannel] {
            let err = check_uri_as(kind, "com.example.app:/cb").unwrap_err();
            assert!(err.contains("must use https"), "{err}");
        }
        let err = check_uri_as(UriKind::Redirect, "myapp:/cb").unwrap_err();
        assert!(err.contains("private-use scheme"), "{err}");
    }

    #[test]
    fn code_and_local_schemes_are_never_registered() {
        for kind in [UriKind::Redirect, UriKind::PostLogout, UriKind::Backchannel] {
            for (bad, scheme) in [
                ("javascript:alert(1)", "javascript"),
                ("JavaScript:alert(1)", "javascript"),
                ("JAVASCRIPT:alert(1)", "javascript"),
                ("  javascript:alert(1)", "javascript"),
                ("\tjavascript:alert(1)", "javascript"),
                ("java\tscript:alert(1)", "javascript"),
                ("\u{1}javascript:alert(1)", "javascript"),
                ("javascript://app.example/%0aalert(1)", "javascript"),
                ("data:text/html,<script>alert(1)</script>", "data"),
                (" Data:text/html;base64,PHNjcmlwdD4=", "data"),
                ("file:///etc/passwd", "file"),
                ("FILE://localhost/etc/passwd", "file"),
                ("vbscript:msgbox(1)", "vbscript"),
                ("VBScript:msgbox(1)", "vbscript"),
            ] {
                let err = check_uri_as(kind, bad).unwrap_err();
                assert!(
                    err.contains(&format!("the {scheme}: scheme, which is never allowed")),
                    "{kind:?} {bad:?}: {err}"
                );
                assert!(err.contains(kind.name()), "{err}");
            }
        }
    }

    #[test]
    fn registered_uris_are_what_they_look_like() {
        for (bad, why) in [
            ("https://app.example@evil.example/cb", "user information"),
            ("https://user:pass@app.example/cb", "user information"),
            ("https://:pass@app.example/cb", "user information"),
            (" https://app.example/cb", "spaces or control characters"),
            ("https://app.example/cb ", "spaces or control characters"),
            ("https://app.example/c\tb", "spaces or control characters"),
            (
                "https://app.example/cb\u{85}",
                "spaces or control characters",
            ),
            ("https://app.example/cb#", "must not have a fragment"),
            ("https://app.example/cb#x", "must not have a fragment"),
            ("/cb", "not an absolute URI"),
            ("//app.example/cb", "not an absolute URI"),
            ("", "not an absolute URI"),
        ] {
            let err = check_uri(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(
                err.contains(&format!("{bad:?}")),
                "the error quotes the URI: {err}"
            );
        }
        let long = format!("https://app.example/{}", "a".repeat(MAX_URI_LEN));
        let err = check_uri(&long).unwrap_err();
        assert!(err.contains("longer than 2000") && err.len() < 200, "{err}");
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
    fn each_uri_of_a_registration_is_checked_for_its_use() {
        let mut r = registration();
        r.redirect_uris.push("com.example.app:/cb".into());
        r.post_logout_redirect_uris = vec!["http://localhost:3000/bye".into()];
        r.backchannel_logout_uri = Some("https://portal.example/bc".into());
        assert_eq!(check(&r), Ok(()));
        let mut r = registration();
        r.redirect_uris.push("http://portal.example/cb".into());
        let err = check(&r).unwrap_err();
        assert!(
            err.starts_with("the redirect URI \"http://portal.example/cb\""),
            "{err}"
        );
        let mut r = registration();
        r.post_logout_redirect_uris = vec!["javascript:alert(document.cookie)".into()];
        let err = check(&r).unwrap_err();
        assert!(err.starts_with("the post-logout redirect URI"), "{err}");
        assert!(err.contains("javascript:"), "{err}");
        let mut r = registration();
        r.post_logout_redirect_uris = vec!["com.example.app:/bye".into()];
        assert!(check(&r)
            .unwrap_err()
            .starts_with("the post-logout redirect URI"));
        let mut r = registration();
        r.backchannel_logout_uri = Some("http://portal.example/bc".into());
        let err = check(&r).unwrap_err();
        assert!(err.starts_with("the back-channel logout URI"), "{err}");
        assert!(err.contains("must use https"), "{err}");
    }

    #[test]
    fn uris_are_read_one_per_line() {
        assert_eq!(
            uri_lines("https://a.example/cb\r\n\n  https://b.example/cb  "),
            vec!["https://a.example/cb", "https://b.example/cb"]
        );
    }
}
