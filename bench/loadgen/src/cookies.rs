//! A deliberately small cookie jar: one host (the issuer), name+path keyed,
//! path-prefix matching, deletion via Max-Age<=0 or an Expires date in 1970.
//! Good enough to carry an OP's session cookie through redirects.

use hyper::header::{HeaderMap, HeaderValue};

#[derive(Clone, Debug, Default)]
pub struct Jar {
    cookies: Vec<Cookie>,
}

#[derive(Clone, Debug)]
struct Cookie {
    name: String,
    value: String,
    path: String,
}

impl Jar {
    pub fn new() -> Jar {
        Jar {
            cookies: Vec::new(),
        }
    }

    /// A jar from a ready-made `Cookie:` header value ("a=b; c=d"), path "/".
    pub fn from_header(h: &str) -> Jar {
        let mut j = Jar::new();
        for part in h.split(';') {
            let part = part.trim();
            if let Some((n, v)) = part.split_once('=') {
                j.cookies.push(Cookie {
                    name: n.trim().to_string(),
                    value: v.trim().to_string(),
                    path: "/".to_string(),
                });
            }
        }
        j
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Apply every Set-Cookie of a response. `req_path` is the request's path
    /// (default-path rule of RFC 6265 when a cookie has no Path attribute).
    pub fn update(&mut self, headers: &HeaderMap<HeaderValue>, req_path: &str) {
        for v in headers.get_all("set-cookie") {
            if let Ok(s) = v.to_str() {
                self.set(s, req_path);
            }
        }
    }

    fn set(&mut self, set_cookie: &str, req_path: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let name = name.trim().to_string();
        let value = value.trim().to_string();
        let mut path = None;
        let mut delete = false;
        for attr in parts {
            let attr = attr.trim();
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            match k.to_ascii_lowercase().as_str() {
                "path" => path = Some(v.to_string()),
                "max-age" if v.trim().parse::<i64>().is_ok_and(|n| n <= 0) => delete = true,
                "expires" if v.contains("1970") => delete = true,
                _ => {}
            }
        }
        let path =
            path.filter(|p| p.starts_with('/'))
                .unwrap_or_else(|| match req_path.rfind('/') {
                    Some(0) | None => "/".to_string(),
                    Some(i) => req_path[..i].to_string(),
                });
        self.cookies.retain(|c| !(c.name == name && c.path == path));
        if !delete {
            self.cookies.push(Cookie { name, value, path });
        }
    }

    /// `Cookie:` header value for a request path (None if nothing matches).
    pub fn header_for(&self, req_path: &str) -> Option<String> {
        let mut out = String::new();
        for c in &self.cookies {
            let matches = req_path == c.path
                || (req_path.starts_with(&c.path)
                    && (c.path.ends_with('/') || req_path[c.path.len()..].starts_with('/')));
            if matches {
                if !out.is_empty() {
                    out.push_str("; ");
                }
                out.push_str(&c.name);
                out.push('=');
                out.push_str(&c.value);
            }
        }
        if out.is_empty() {
            None
        } else {
            Some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_delete() {
        let mut j = Jar::new();
        j.set(
            "_interaction=abc; path=/interaction/abc; samesite=lax; httponly",
            "/auth",
        );
        j.set(
            "_session=s1; path=/; expires=Wed, 09 Dec 2026 13:38:02 GMT",
            "/auth/abc",
        );
        j.set("_session.sig=sig; path=/", "/auth/abc");
        assert_eq!(
            j.header_for("/auth").as_deref(),
            Some("_session=s1; _session.sig=sig")
        );
        assert_eq!(
            j.header_for("/interaction/abc").as_deref(),
            Some("_interaction=abc; _session=s1; _session.sig=sig")
        );
        j.set(
            "_session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "/",
        );
        assert_eq!(j.header_for("/auth").as_deref(), Some("_session.sig=sig"));
        let h = Jar::from_header("a=1; b=2");
        assert_eq!(h.header_for("/x").as_deref(), Some("a=1; b=2"));
    }
}
