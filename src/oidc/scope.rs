//! Scopes this provider knows, and what each one releases.

pub const SUPPORTED: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A requested scope string reduced to the supported scopes, in order, without
/// repeats (RFC 6749 §3.3 lets the server ignore the rest).
pub fn normalize(requested: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if SUPPORTED.contains(&scope) && !kept.contains(&scope) {
            kept.push(scope);
        }
    }
    kept.join(" ")
}

/// What granting `scope` lets a client have, in words for the consent page.
pub fn in_words(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are: your account's identifier here",
        "profile" => "Your name and username",
        "email" => "Your email address, and whether it is verified",
        "offline_access" => "Stay connected while you are away (until you revoke it)",
        _ => "Something this provider does not know",
    }
}

pub fn contains(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// Whether every scope in `requested` is also in `granted`.
pub fn is_subset(requested: &str, granted: &str) -> bool {
    requested
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| contains(granted, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_scopes_are_dropped() {
        assert_eq!(normalize("openid  email openid calendar"), "openid email");
    }

    #[test]
    fn every_supported_scope_has_words() {
        for scope in SUPPORTED {
            assert_ne!(in_words(scope), in_words("calendar"), "{scope}");
        }
    }

    #[test]
    fn subsets() {
        assert!(is_subset("openid", "openid email"));
        assert!(!is_subset("openid profile", "openid email"));
        assert!(is_subset("", "openid"));
    }
}
