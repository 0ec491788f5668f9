//! Minimal HTTP/1.1 client for plain-http loopback targets: one keep-alive
//! connection per authority per worker (like wrk), a tiny URL parser, and
//! form/percent encoding helpers. No TLS on purpose (loopback benchmarks).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// An absolute `http://` URL split into what the client needs.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpUrl {
    /// host[:port] exactly as written (sent as the Host header)
    pub authority: String,
    /// host:port with the default port filled in (used to connect)
    pub connect: String,
    /// path plus optional `?query`, never empty
    pub path_query: String,
}

impl HttpUrl {
    pub fn parse(s: &str) -> Result<HttpUrl, String> {
        let rest = s
            .strip_prefix("http://")
            .ok_or_else(|| format!("only http:// URLs are supported (loopback benchmark): {s}"))?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("URL without host: {s}"));
        }
        let path = path.split('#').next().unwrap_or("/");
        let path_query = if path.starts_with('?') {
            format!("/{path}")
        } else if path.is_empty() {
            "/".to_string()
        } else {
            path.to_string()
        };
        let has_port = if let Some(end) = authority.rfind(']') {
            authority[end..].contains(':')
        } else {
            authority.contains(':')
        };
        let connect = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(HttpUrl {
            authority: authority.to_string(),
            connect,
            path_query,
        })
    }

    /// Path without the query (for cookie path matching).
    pub fn path(&self) -> &str {
        self.path_query.split('?').next().unwrap_or("/")
    }

    /// Resolve a Location header against this URL (absolute, scheme-relative,
    /// root-relative, and plain relative references).
    pub fn resolve(&self, location: &str) -> Result<HttpUrl, String> {
        if location.starts_with("http://") {
            return HttpUrl::parse(location);
        }
        if location.starts_with("https://") {
            return Err(format!("redirect to https is not supported: {location}"));
        }
        if let Some(rest) = location.strip_prefix("//") {
            return HttpUrl::parse(&format!("http://{rest}"));
        }
        let path_query = if location.starts_with('/') {
            location.to_string()
        } else if location.starts_with('?') {
            format!("{}{}", self.path(), location)
        } else {
            let base = self.path();
            let dir = &base[..base.rfind('/').map(|i| i + 1).unwrap_or(0)];
            format!("{dir}{location}")
        };
        Ok(HttpUrl {
            authority: self.authority.clone(),
            connect: self.connect.clone(),
            path_query: path_query.split('#').next().unwrap_or("/").to_string(),
        })
    }
}

pub struct Response {
    pub status: u16,
    pub headers: HeaderMap<HeaderValue>,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Per-worker client: at most one open connection per authority.
#[derive(Default)]
pub struct Client {
    conns: Vec<(String, SendRequest<Full<Bytes>>)>,
}

impl Client {
    pub fn new() -> Client {
        Client { conns: Vec::new() }
    }

    async fn connect(connect: &str) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(connect)
            .await
            .map_err(|e| format!("connect {connect}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake {connect}: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Returns a ready sender for the authority, reconnecting once if the
    /// pooled connection was closed (nothing was sent on it yet, so it is safe).
    async fn sender(&mut self, url: &HttpUrl) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        let idx = match self.conns.iter().position(|(a, _)| *a == url.connect) {
            Some(i) => {
                if self.conns[i].1.is_closed() || self.conns[i].1.ready().await.is_err() {
                    self.conns[i].1 = Client::connect(&url.connect).await?;
                }
                i
            }
            None => {
                let s = Client::connect(&url.connect).await?;
                self.conns.push((url.connect.clone(), s));
                self.conns.len() - 1
            }
        };
        let s = &mut self.conns[idx].1;
        s.ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        Ok(s)
    }

    fn drop_conn(&mut self, url: &HttpUrl) {
        self.conns.retain(|(a, _)| *a != url.connect);
    }

    pub async fn request(
        &mut self,
        method: Method,
        url: &HttpUrl,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> Result<Response, String> {
        let mut b = Request::builder()
            .method(method)
            .uri(url.path_query.as_str())
            .header("host", url.authority.as_str());
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| format!("build request: {e}"))?;
        let sender = self.sender(url).await?;
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                self.drop_conn(url);
                return Err(format!("send: {e}"));
            }
        };
        let (parts, body) = resp.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                self.drop_conn(url);
                return Err(format!("read body: {e}"));
            }
        };
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(
        &mut self,
        url: &HttpUrl,
        headers: &[(&str, &str)],
    ) -> Result<Response, String> {
        self.request(Method::GET, url, headers, None).await
    }
}

/// application/x-www-form-urlencoded / RFC 3986 unreserved percent-encoding.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn pct_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parameters of a redirect URL's query (or fragment, for implicit-style responses).
pub fn redirect_params(location: &str) -> Vec<(String, String)> {
    let q = match location.find(['?', '#']) {
        Some(i) => &location[i + 1..],
        None => return Vec::new(),
    };
    q.split(['&', '#'])
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (pct_decode(k), pct_decode(v)),
            None => (pct_decode(kv), String::new()),
        })
        .collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_resolve() {
        let u = HttpUrl::parse("http://127.0.0.1:3000/auth?x=1").unwrap();
        assert_eq!(u.connect, "127.0.0.1:3000");
        assert_eq!(u.path(), "/auth");
        let r = u.resolve("/interaction/abc").unwrap();
        assert_eq!(r.path_query, "/interaction/abc");
        assert_eq!(r.authority, "127.0.0.1:3000");
        let h = HttpUrl::parse("http://localhost").unwrap();
        assert_eq!(h.connect, "localhost:80");
        assert_eq!(h.path_query, "/");
        let rel = HttpUrl::parse("http://h:1/a/b/c")
            .unwrap()
            .resolve("d?e=1")
            .unwrap();
        assert_eq!(rel.path_query, "/a/b/d?e=1");
    }

    #[test]
    fn params() {
        let p = redirect_params("http://127.0.0.1:9/cb?code=abc%2Fd&state=s1&iss=http%3A%2F%2Fx");
        assert_eq!(param(&p, "code"), Some("abc/d"));
        assert_eq!(param(&p, "iss"), Some("http://x"));
        assert_eq!(pct("a b/c"), "a%20b%2Fc");
        assert_eq!(pct_decode("100%"), "100%");
    }
}
