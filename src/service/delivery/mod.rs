//! Messages to users by email and SMS. They are queued in the database
//! (bodies sealed, since they carry codes), sent by a background task over
//! SMTP, an SMS webhook or the development outbox, and retried with backoff;
//! a message given up on is audited and shown to its user.

pub mod notices;
pub mod outbox;
pub mod smtp;
pub mod webhook;

use std::time::Duration;

use crate::app::AppState;
use crate::auth::secret;
use crate::auth::vault::Vault;
use crate::store::{self, NewAuditEvent, NewMessage, OutboundMessage};

/// How a message reaches its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    /// A call to a phone: the SMS gateway speaks the text.
    Voice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }
}

/// A message to send.
pub struct Message<'a> {
    pub channel: Channel,
    /// An email address, or an E.164 number.
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// How long a claimed message is reserved for the node sending it.
const LEASE_SECS: i64 = 60;
/// Attempts before a message is given up (about 40 minutes of backoff).
const MAX_ATTEMPTS: i64 = 8;

/// Seconds until the next try after `attempts` failures: 2 s doubling, at most 10 minutes.
pub fn backoff_secs(attempts: i64) -> i64 {
    (2i64 << attempts.clamp(0, 9)).min(600)
}

fn seal_context(id: &str) -> String {
    format!("message:{id}")
}

/// Queues `message` for `user_id` and wakes the sender.
pub async fn queue(
    app: &AppState,
    user_id: Option<&str>,
    message: Message<'_>,
) -> Result<(), store::Error> {
    queue_in(&app.store, &app.vault, app.clock.now(), user_id, message).await?;
    app.messages.notify_one();
    Ok(())
}

/// Queues `message` in `store` (from a command: a running node sends it).
pub async fn queue_in(
    store: &store::Store,
    vault: &Vault,
    now: i64,
    user_id: Option<&str>,
    message: Message<'_>,
) -> Result<(), store::Error> {
    let id = secret::random_id();
    let body_sealed = vault.seal(message.body.as_bytes(), &seal_context(&id));
    store
        .queue_message(NewMessage {
            id: &id,
            user_id,
            channel: message.channel.as_str(),
            recipient: message.to,
            subject: message.subject,
            body_sealed: &body_sealed,
            now,
        })
        .await
}

/// Runs until the process ends: sends whenever woken, and at least every second.
pub async fn run(app: AppState) {
    loop {
        if let Err(err) = send_due(&app).await {
            tracing::error!(%err, "sending messages failed");
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), app.messages.notified()).await;
    }
}

/// Sends every message that is due now; how many were attempted.
pub async fn send_due(app: &AppState) -> Result<usize, store::Error> {
    let mut attempted = 0;
    while let Some(message) = app.store.claim_message(app.clock.now(), LEASE_SECS).await? {
        attempted += 1;
        let outcome = match app
            .vault
            .unseal(&message.body_sealed, &seal_context(&message.id))
        {
            Ok(body) => send(app, &message, &String::from_utf8_lossy(&body)).await,
            Err(err) => Err(format!("the message does not open: {err}")),
        };
        let now = app.clock.now();
        match outcome {
            Ok(()) => {
                app.store.message_sent(&message.id, now).await?;
                tracing::info!(channel = %message.channel, "message sent");
                metrics::counter!("gatehouse_messages_total", "channel" => message.channel.clone(), "outcome" => "sent").increment(1);
            }
            Err(error) => {
                let attempts = message.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| now + backoff_secs(attempts - 1));
                tracing::warn!(channel = %message.channel, attempts, %error, "message not sent");
                let outcome = if retry_at.is_some() {
                    "retry"
                } else {
                    "failed"
                };
                metrics::counter!("gatehouse_messages_total", "channel" => message.channel.clone(), "outcome" => outcome).increment(1);
                app.store
                    .message_failed(&message.id, &error, retry_at, now)
                    .await?;
                if retry_at.is_none() {
                    given_up(app, &message, &error, now).await?;
                }
            }
        }
    }
    Ok(attempted)
}

async fn given_up(
    app: &AppState,
    message: &OutboundMessage,
    error: &str,
    now: i64,
) -> Result<(), store::Error> {
    let user = match &message.user_id {
        Some(id) => app.store.user_by_id(id).await?,
        None => None,
    };
    app.store
        .audit(NewAuditEvent {
            kind: "message_failed",
            account_id: user.as_ref().map(|u| u.account_id.as_str()),
            user_id: message.user_id.as_deref(),
            actor_id: None,
            ip: None,
            detail: serde_json::json!({
                "channel": message.channel,
                "attempts": message.attempts + 1,
                "error": error,
            }),
            now,
        })
        .await
}

async fn send(app: &AppState, message: &OutboundMessage, body: &str) -> Result<(), String> {
    let config = &app.config;
    match message.channel.as_str() {
        "email" if config.smtp_url.is_some() => {
            smtp::send(config, &message.recipient, &message.subject, body).await
        }
        channel @ ("sms" | "voice") if config.sms_webhook_url.is_some() => {
            webhook::send(app, &message.recipient, body, channel).await
        }
        _ => outbox::write(config, message, body).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_to_ten_minutes() {
        assert_eq!(backoff_secs(0), 2);
        assert_eq!(backoff_secs(1), 4);
        assert_eq!(backoff_secs(4), 32);
        assert_eq!(backoff_secs(20), 600);
    }
}
