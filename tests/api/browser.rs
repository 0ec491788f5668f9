//! A real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver with fantoccini.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// A chromedriver process and a browser session on it; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    /// Chromium's profile, which also names its processes for clean-up.
    profile: tempfile::TempDir,
    /// Screenshots are named `<prefix>-<name>.png`.
    prefix: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn chromedriver() -> PathBuf {
    let path = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    assert!(
        path.exists(),
        "the browser tests need chromedriver at {} (Debian: apt-get install chromium chromium-driver; \
         .ci/install-browser does it)",
        path.display()
    );
    path
}

/// Where screenshots of the pages go, for review.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

impl Browser {
    /// A headless Chromium with a window of `width` × `height` CSS pixels.
    pub async fn start(prefix: &str, width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::Builder::new()
            .prefix("gatehouse-chromium")
            .tempdir()
            .unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-breakpad",
                    "--disable-crash-reporter",
                    "--password-store=basic",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::native()
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        profile,
                        prefix: prefix.to_string(),
                    }
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session with chromedriver on port {port}: {last_error}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let input = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("an input {css}: {e}"));
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Clicks what `locator` finds, which loads another page, and waits until
    /// the old page is gone (its root element goes stale) and the new one has loaded.
    async fn navigate_by(&self, locator: Locator<'_>) {
        let old_root = self.client.find(Locator::Css("html")).await.unwrap();
        let target = self
            .client
            .find(locator)
            .await
            .unwrap_or_else(|e| panic!("an element {locator:?}: {e}"));
        target.click().await.unwrap();
        for _ in 0..200 {
            if old_root.tag_name().await.is_err() {
                let ready = self
                    .client
                    .execute("return document.readyState", vec![])
                    .await;
                if ready.is_ok_and(|state| state == "complete") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("clicking {locator:?} did not load another page");
    }

    /// Clicks the element `css` and waits for the next page.
    pub async fn click(&self, css: &str) {
        self.navigate_by(Locator::Css(css)).await;
    }

    /// Clicks the link whose text is `text` and waits for the next page.
    pub async fn click_link(&self, text: &str) {
        self.navigate_by(Locator::LinkText(text)).await;
    }

    /// Clicks the button whose text is `text` and waits for the next page.
    pub async fn click_button(&self, text: &str) {
        let xpath = format!("//button[normalize-space()='{text}']");
        self.navigate_by(Locator::XPath(&xpath)).await;
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("an element {css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// What keeps this page from being usable by everyone: form fields
    /// without a label, not exactly one main heading, no page language, or
    /// content wider than the window (a phone would scroll sideways).
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let script = r#"
            const problems = [];
            for (const field of document.querySelectorAll(
                'input:not([type=hidden]):not([hidden]), select, textarea')) {
                const labelled = (field.labels && field.labels.length > 0)
                    || field.getAttribute('aria-label') || field.getAttribute('aria-labelledby');
                if (!labelled) problems.push('no label for ' + (field.name || field.id || field.type));
            }
            const headings = document.querySelectorAll('h1').length;
            if (headings !== 1) problems.push(headings + ' main headings');
            if (!document.documentElement.lang) problems.push('no page language');
            if (document.documentElement.scrollWidth > window.innerWidth + 1)
                problems.push('wider than the window: ' + document.documentElement.scrollWidth
                    + ' > ' + window.innerWidth);
            return problems;
        "#;
        let value = self.client.execute(script, vec![]).await.unwrap();
        serde_json::from_value(value).unwrap()
    }

    /// Saves what the browser shows as `<prefix>-<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG image");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{}-{name}.png", self.prefix)), png).unwrap();
    }
}

/// A command of WebDriver's WebAuthn extension (chromedriver implements
/// it): `method` on `session/<id>/webauthn/authenticator<path>`.
#[derive(Debug)]
struct VirtualAuthenticatorCommand {
    method: axum::http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for VirtualAuthenticatorCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(|b| b.to_string()),
        )
    }
}

impl Browser {
    /// Plugs in a virtual security key (CTAP2 over USB) that keeps
    /// discoverable credentials, has a PIN, and consents and verifies its
    /// user at once; its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let options = serde_json::json!({
            "protocol": "ctap2",
            "transport": "usb",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true,
        });
        let id = self
            .client
            .issue_cmd(VirtualAuthenticatorCommand {
                method: axum::http::Method::POST,
                path: String::new(),
                body: Some(options),
            })
            .await
            .expect("chromedriver adds a virtual authenticator");
        id.as_str().expect("an authenticator id").to_string()
    }

    /// Unplugs the virtual authenticator `id`, with its credentials.
    pub async fn remove_virtual_authenticator(&self, id: &str) {
        self.client
            .issue_cmd(VirtualAuthenticatorCommand {
                method: axum::http::Method::DELETE,
                path: format!("/{id}"),
                body: None,
            })
            .await
            .expect("chromedriver removes the virtual authenticator");
    }

    /// Waits until the page's path starts with `prefix` (scripts may be
    /// posting forms meanwhile); the path reached.
    pub async fn wait_for_path(&self, prefix: &str) -> String {
        let mut path = String::new();
        for _ in 0..200 {
            path = self.path().await;
            let ready = self
                .client
                .execute("return document.readyState", vec![])
                .await;
            if path.starts_with(prefix) && ready.is_ok_and(|state| state == "complete") {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let text = self
            .client
            .execute("return document.body.innerText", vec![])
            .await
            .unwrap_or_default();
        panic!("the browser stayed on {path}, not {prefix}: {text}");
    }

    /// The whole URL of the page (another site's, after a redirect there).
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.unwrap()
    }
}

impl Browser {
    /// Ends the browser session, then the driver.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failure the session was not closed: end the driver, and
        // the Chromium processes of this profile that it leaves behind.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .args(["-f", "--"])
            .arg(format!("--user-data-dir={}", self.profile.path().display()))
            .status();
    }
}
