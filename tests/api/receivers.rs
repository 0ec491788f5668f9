//! Real receivers for what Gatehouse sends: a small SMTP server that keeps
//! every message, and an HTTP endpoint for the SMS webhook that checks the
//! signature. Codes are read off what they received.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

type Inbox = Arc<Mutex<HashMap<String, VecDeque<String>>>>;

/// An SMTP server on 127.0.0.1 that accepts every message.
pub struct MailServer {
    pub port: u16,
    inbox: Inbox,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MailServer {
    pub async fn start() -> MailServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        MailServer::serve(listener)
    }

    /// A server on `port` (one that was down before, say).
    pub async fn start_on(port: u16) -> MailServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        MailServer::serve(listener)
    }

    fn serve(listener: TcpListener) -> MailServer {
        let port = listener.local_addr().unwrap().port();
        let inbox: Inbox = Arc::default();
        let kept = inbox.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = kept.clone();
                tokio::spawn(async move {
                    let _ = session(stream, inbox).await;
                });
            }
        });
        MailServer { port, inbox, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next message to `to` that contains `text` (others stay), waiting
    /// up to 10 seconds for it.
    pub async fn next_with(&self, to: &str, text: &str) -> String {
        for _ in 0..400 {
            if let Some(message) = self.take_with(to, text) {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let inbox = self.inbox.lock().unwrap();
        panic!(
            "no message to {to} with {text:?} within 10 seconds: {:?}",
            inbox.get(to)
        );
    }

    fn take_with(&self, to: &str, text: &str) -> Option<String> {
        let mut inbox = self.inbox.lock().unwrap();
        let messages = inbox.get_mut(to)?;
        let i = messages.iter().position(|m| m.contains(text))?;
        messages.remove(i)
    }

    /// The next message to `to` that carries a code.
    pub async fn next_code_to(&self, to: &str) -> String {
        code_in(&self.next_with(to, "Your Gatehouse code").await)
    }

    /// How many messages to `to` that contain `text` are waiting.
    pub fn waiting_with(&self, to: &str, text: &str) -> usize {
        self.inbox
            .lock()
            .unwrap()
            .get(to)
            .map_or(0, |m| m.iter().filter(|m| m.contains(text)).count())
    }
}

/// One SMTP conversation (RFC 5321, the commands a client needs).
async fn session(stream: tokio::net::TcpStream, inbox: Inbox) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 receiver ESMTP\r\n").await?;
    let mut recipients = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250-receiver\r\n250 8BITMIME\r\n"
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line[line.find('<').map_or(8, |i| i + 1)..]
                .trim_end_matches('>')
                .to_string();
            recipients.push(address);
            b"250 OK\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            let mut inbox = inbox.lock().unwrap();
            for to in &recipients {
                inbox.entry(to.clone()).or_default().push_back(data.clone());
            }
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if command.starts_with("RSET") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// The six-digit code a message carries ("... is 123456.").
pub fn code_in(message: &str) -> String {
    message
        .match_indices(" is ")
        .map(|(i, _)| &message[i + 4..])
        .find(|rest| rest.len() >= 6 && rest.as_bytes()[..6].iter().all(u8::is_ascii_digit))
        .map(|rest| rest[..6].to_string())
        .unwrap_or_else(|| panic!("no code in {message}"))
}

/// An SMS gateway's webhook on 127.0.0.1: it checks each POST's signature
/// (HMAC-SHA256 of the raw body, lowercase hex, in `X-Gatehouse-Signature`)
/// and keeps the messages it accepts; `down` makes it answer 503.
pub struct SmsGateway {
    pub port: u16,
    inbox: Inbox,
    pub refused: Arc<Mutex<Vec<String>>>,
    /// Each accepted message's recipient and channel (`sms` or `voice`), in order.
    pub channels: Arc<Mutex<Vec<(String, String)>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmsGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub const SMS_SECRET: &str = "webhook-secret-0123456789";

impl SmsGateway {
    pub async fn start() -> SmsGateway {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, StatusCode};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox: Inbox = Arc::default();
        let refused: Arc<Mutex<Vec<String>>> = Arc::default();
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let channels: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (kept, rejected, is_down) = (inbox.clone(), refused.clone(), down.clone());
        let heard = channels.clone();
        let handler = move |headers: HeaderMap, body: Bytes| {
            let (inbox, refused, down) = (kept.clone(), rejected.clone(), is_down.clone());
            let channels = heard.clone();
            async move {
                if down.load(std::sync::atomic::Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let expected = gatehouse::service::delivery::webhook::signature(SMS_SECRET, &body);
                let given = headers
                    .get("x-gatehouse-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if given != expected {
                    refused
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into());
                    return StatusCode::UNAUTHORIZED;
                }
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert!(value["timestamp"].as_i64().unwrap() > 1_600_000_000);
                let to = value["to"].as_str().unwrap().to_string();
                let message = value["message"].as_str().unwrap().to_string();
                let channel = value["channel"].as_str().unwrap_or_default().to_string();
                assert!(channel == "sms" || channel == "voice", "{value}");
                channels.lock().unwrap().push((to.clone(), channel));
                inbox
                    .lock()
                    .unwrap()
                    .entry(to)
                    .or_default()
                    .push_back(message);
                StatusCode::OK
            }
        };
        let router = axum::Router::new().route("/sms", axum::routing::post(handler));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        SmsGateway {
            port,
            inbox,
            refused,
            channels,
            down,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/sms", self.port)
    }

    /// Makes the gateway answer 503 (`true`) or work again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next text to `to`, waiting up to 10 seconds for it.
    pub async fn next_to(&self, to: &str) -> String {
        for _ in 0..400 {
            if let Some(message) = self
                .inbox
                .lock()
                .unwrap()
                .get_mut(to)
                .and_then(VecDeque::pop_front)
            {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no text to {to} within 10 seconds");
    }

    /// The channel of each message accepted for `to`, in order.
    pub fn channels_to(&self, to: &str) -> Vec<String> {
        let channels = self.channels.lock().unwrap();
        channels
            .iter()
            .filter(|(t, _)| t == to)
            .map(|(_, c)| c.clone())
            .collect()
    }

    pub fn waiting(&self, to: &str) -> usize {
        self.inbox.lock().unwrap().get(to).map_or(0, VecDeque::len)
    }
}

/// A message's text with quoted-printable undone (RFC 2045 §6.7: soft line
/// breaks joined, `=XX` decoded), as a mail client shows it.
pub fn quoted_printable_decoded(message: &str) -> String {
    let joined = message.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
