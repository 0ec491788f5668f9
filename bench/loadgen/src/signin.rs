//! Gatehouse's full sign-in, as a browser does it: the authorization request
//! sends a cookieless browser to `/login`; the password form; then either the
//! TOTP code at `/login/second-factor`, or (the user's first time, in an
//! account that requires 2FA) the enrolment page, whose secret the load
//! generator keeps; then the code is redeemed. Bounded by argon2id.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::cookies::Jar;
use crate::http::{pct, Client, HttpUrl, Response};

/// A user the sign-in scenario signs in as.
pub struct BenchUser {
    pub name: String,
    /// The TOTP secret, once enrolled.
    pub secret: Option<Vec<u8>>,
    /// The last time step used: each step works once per user.
    pub last_step: u64,
}

impl BenchUser {
    pub fn new(name: String) -> BenchUser {
        BenchUser {
            name,
            secret: None,
            last_step: 0,
        }
    }

    /// The step to use now, if this user has one left: later than the last,
    /// within the one step of drift the provider accepts.
    pub fn next_step(&self, now_step: u64) -> Option<u64> {
        let step = (self.last_step + 1).max(now_step.saturating_sub(1));
        (self.secret.is_none() || step <= now_step + 1).then_some(step)
    }
}

/// RFC 6238 with SHA-1, 6 digits, for `step`.
pub fn totp(secret: &[u8], step: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("any key length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

pub fn now_step() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 30)
        .unwrap_or(0)
}

/// The value of the hidden input `name` on `page`.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(unescape(&page[start..start + end]))
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The secret the enrolment page shows for typing (base32, grouped).
fn enrolment_secret(page: &str) -> Result<Vec<u8>, String> {
    let marker = "<code class=\"secret\">";
    let start = page.find(marker).ok_or("enrol: no secret on the page")? + marker.len();
    let end = page[start..]
        .find('<')
        .ok_or("enrol: no secret on the page")?;
    let typed: String = page[start..start + end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    data_encoding::BASE32_NOPAD
        .decode(typed.trim_end_matches('=').as_bytes())
        .map_err(|e| format!("enrol: secret: {e}"))
}

/// A link with class `class` on `page`.
fn link(page: &str, class: &str) -> Option<String> {
    let marker = format!("class=\"{class}\" href=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(unescape(&page[start..start + end]))
}

fn form(fields: &[(&str, &str)]) -> bytes::Bytes {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", pct(v)))
        .collect();
    bytes::Bytes::from(body.join("&"))
}

/// A browser: a client with a cookie jar.
pub struct Browser<'a> {
    pub client: &'a mut Client,
    pub jar: Jar,
}

impl Browser<'_> {
    pub async fn get(&mut self, url: &HttpUrl) -> Result<Response, String> {
        let cookie = self.jar.header_for(url.path());
        let mut headers = vec![("accept", "text/html")];
        if let Some(c) = cookie.as_deref() {
            headers.push(("cookie", c));
        }
        let resp = self.client.get(url, &headers).await?;
        self.jar.update(&resp.headers, url.path());
        Ok(resp)
    }

    pub async fn post(
        &mut self,
        url: &HttpUrl,
        fields: &[(&str, &str)],
    ) -> Result<Response, String> {
        let cookie = self.jar.header_for(url.path());
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(c) = cookie.as_deref() {
            headers.push(("cookie", c));
        }
        let resp = self
            .client
            .request(hyper::Method::POST, url, &headers, Some(form(fields)))
            .await?;
        self.jar.update(&resp.headers, url.path());
        Ok(resp)
    }
}

fn location(resp: &Response, what: &str) -> Result<String, String> {
    if !(300..400).contains(&resp.status) {
        let body =
            String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)]).replace('\n', " ");
        return Err(format!("{what}: HTTP {} {body}", resp.status));
    }
    resp.header("location")
        .map(str::to_string)
        .ok_or_else(|| format!("{what}: no Location"))
}

/// From the authorization request `authorize_url` to the redirect to the
/// relying party: its Location. `step` is the TOTP step to use.
pub async fn sign_in(
    browser: &mut Browser<'_>,
    authorize_url: &str,
    user: &mut BenchUser,
    password: &str,
    step: u64,
) -> Result<String, String> {
    let url = HttpUrl::parse(authorize_url)?;
    let resp = browser.get(&url).await?;
    let login_url = url.resolve(&location(&resp, "authorize")?)?;
    let resp = browser.get(&login_url).await?;
    let page = String::from_utf8_lossy(&resp.body).into_owned();
    let csrf = hidden(&page, "csrf_token").ok_or("login: no CSRF token")?;
    let request = hidden(&page, "request").ok_or("login: no request")?;
    let post = login_url.resolve("/login")?;
    let resp = browser
        .post(
            &post,
            &[
                ("csrf_token", &csrf),
                ("request", &request),
                ("username", &user.name),
                ("password", password),
            ],
        )
        .await?;
    let next = location(&resp, "password")?;
    match next.as_str() {
        "/login/second-factor" => {
            let secret = user
                .secret
                .as_ref()
                .ok_or("second step without a known secret")?;
            let url = login_url.resolve(&next)?;
            let page = browser.get(&url).await?;
            let csrf = hidden(&String::from_utf8_lossy(&page.body), "csrf_token")
                .ok_or("second step: no CSRF token")?;
            let code = totp(secret, step);
            let resp = browser
                .post(&url, &[("csrf_token", &csrf), ("code", &code)])
                .await?;
            user.last_step = step;
            location(&resp, "second step")
        }
        "/login/enroll" => {
            let url = login_url.resolve(&next)?;
            let page = browser.get(&url).await?;
            let page = String::from_utf8_lossy(&page.body).into_owned();
            let secret = enrolment_secret(&page)?;
            let csrf = hidden(&page, "csrf_token").ok_or("enrol: no CSRF token")?;
            let step = now_step();
            let resp = browser
                .post(
                    &url,
                    &[("csrf_token", &csrf), ("code", &totp(&secret, step))],
                )
                .await?;
            if resp.status != 200 {
                return Err(format!("enrol: HTTP {}", resp.status));
            }
            user.secret = Some(secret);
            user.last_step = step;
            let page = String::from_utf8_lossy(&resp.body).into_owned();
            let onward = link(&page, "button").ok_or("enrol: no link onward")?;
            let resp = browser.get(&login_url.resolve(&onward)?).await?;
            location(&resp, "continue")
        }
        other => Err(format!(
            "password: sent to {other} (is the user in an account that requires 2FA?)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) -> 287082.
        assert_eq!(totp(b"12345678901234567890", 59 / 30), "287082");
        assert_eq!(totp(b"12345678901234567890", 1_111_111_109 / 30), "081804");
    }

    #[test]
    fn a_user_gets_at_most_three_steps_a_window() {
        let mut user = BenchUser::new("u".into());
        user.secret = Some(vec![1]);
        user.last_step = 0;
        assert_eq!(user.next_step(100), Some(99));
        user.last_step = 99;
        assert_eq!(user.next_step(100), Some(100));
        user.last_step = 101;
        assert_eq!(user.next_step(100), None);
    }
}
