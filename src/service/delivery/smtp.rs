//! Email over SMTP with lettre: `smtp://host:port` (STARTTLS when the server
//! offers it is not required) or `smtps://user:pass@host:port`.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// Sends one message; the error says why not, without the credentials.
pub async fn send(config: &Config, to: &str, subject: &str, body: &str) -> Result<(), String> {
    let from: Mailbox = config
        .mail_from
        .parse()
        .map_err(|e| format!("mail_from: {e}"))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("the recipient is not an address: {e}"))?;
    let email = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| format!("the message: {e}"))?;
    let smtp_url = config.smtp_url.as_ref().ok_or("smtp_url is not set")?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.expose())
        .map_err(|e| format!("smtp_url: {e}"))?
        .timeout(Some(std::time::Duration::from_secs(10)))
        .build();
    transport
        .send(email)
        .await
        .map(|_| ())
        .map_err(|e| format!("the mail server: {e}"))
}
