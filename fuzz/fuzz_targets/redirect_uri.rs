//! Redirect-URI matching and the registration rules for URIs: the first line
//! is the presented URI, the others are registered. A presented URI matches
//! only when it is byte-equal to a registered one; the checks never panic,
//! and what they accept keeps to the allowed schemes.
#![no_main]

use gatehouse::oidc::registration::{self, check_uri_as, uri_is_registered, Registration, UriKind};
use libfuzzer_sys::fuzz_target;

/// The scheme as a browser reads it: spaces and controls skipped, lowercased.
fn scheme_as_read(uri: &str) -> String {
    let visible: String = uri
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect();
    visible
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn assert_acceptable(kind: UriKind, uri: &str) {
    assert!(uri.len() <= registration::MAX_URI_LEN, "{uri:?}");
    assert!(
        !uri.chars().any(|c| c.is_whitespace() || c.is_control()),
        "{uri:?}"
    );
    let scheme = scheme_as_read(uri);
    assert!(
        !["javascript", "data", "file", "vbscript"].contains(&scheme.as_str()),
        "{kind:?} {uri:?}"
    );
    let web = scheme == "https" || scheme == "http";
    match kind {
        UriKind::Redirect => assert!(web || scheme.contains('.'), "{uri:?}"),
        UriKind::PostLogout | UriKind::Backchannel | UriKind::Jwks => {
            assert!(web, "{kind:?} {uri:?}")
        }
    }
    assert!(!uri.contains('#'), "{uri:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let presented = lines.next().unwrap_or_default();
    let registered: Vec<String> = lines.map(str::to_string).collect();

    // Exact matching: byte equality with some registered URI, nothing else.
    let equal = registered
        .iter()
        .any(|r| r.as_bytes() == presented.as_bytes());
    assert_eq!(uri_is_registered(&registered, presented), equal);
    for uri in &registered {
        assert!(uri_is_registered(&registered, uri));
    }
    let alone = [presented.to_string()];
    for near in [
        format!("{presented}/"),
        format!("{presented}#"),
        format!(" {presented}"),
        presented.to_uppercase(),
        presented.to_lowercase(),
        presented.replace('/', "\\"),
        presented.chars().skip(1).collect(),
    ] {
        assert_eq!(
            uri_is_registered(&alone, &near),
            near == presented,
            "{near:?}"
        );
    }

    // The rules: no panic, and what passes keeps to its schemes.
    for uri in std::iter::once(presented).chain(registered.iter().map(String::as_str)) {
        for kind in [
            UriKind::Redirect,
            UriKind::PostLogout,
            UriKind::Backchannel,
            UriKind::Jwks,
        ] {
            if check_uri_as(kind, uri).is_ok() {
                assert_acceptable(kind, uri);
            }
        }
    }
    let registration = Registration {
        client_id: "fuzz".into(),
        redirect_uris: registered.clone(),
        post_logout_redirect_uris: vec![presented.to_string()],
        backchannel_logout_uri: registered.first().cloned(),
        id_token_alg: "RS256".into(),
        ..Registration::default()
    };
    if registration::check(&registration).is_ok() {
        for uri in &registration.redirect_uris {
            assert_acceptable(UriKind::Redirect, uri);
        }
        assert_acceptable(UriKind::PostLogout, presented);
    }
});
