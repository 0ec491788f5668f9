//! SMS and calls through an HTTP webhook: a JSON POST of `{"to", "message",
//! "timestamp", "channel"}` (`sms`, or `voice` for the gateway to speak the
//! text in a call) to `sms_webhook_url`, with the lowercase hex HMAC-SHA256 of
//! the raw body (keyed by `sms_webhook_secret`) in `X-Gatehouse-Signature`,
//! so that any SMS gateway can sit behind a small adapter.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::app::AppState;

pub const SIGNATURE_HEADER: &str = "X-Gatehouse-Signature";

/// The signature of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The webhook's body for a message to `to` by `channel` (`sms` or `voice`).
pub fn body(to: &str, message: &str, timestamp: i64, channel: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "to": to,
        "message": message,
        "timestamp": timestamp,
        "channel": channel,
    }))
    .expect("a JSON object serialises")
}

pub async fn send(app: &AppState, to: &str, message: &str, channel: &str) -> Result<(), String> {
    let config = &app.config;
    let url = config
        .sms_webhook_url
        .as_deref()
        .ok_or("sms_webhook_url is not set")?;
    let body = body(to, message, app.clock.now(), channel);
    let response = app
        .http
        .client()?
        .post(url)
        .header("content-type", "application/json")
        .header(
            SIGNATURE_HEADER,
            signature(config.sms_webhook_secret.expose(), &body),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the SMS gateway answered {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_hex_of_the_raw_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_body_names_the_number_the_text_and_the_time() {
        let value: serde_json::Value =
            serde_json::from_slice(&body("+15551234567", "Code 123456", 1_700_000_000, "voice"))
                .unwrap();
        assert_eq!(value["to"], "+15551234567");
        assert_eq!(value["channel"], "voice");
        assert_eq!(value["message"], "Code 123456");
        assert_eq!(value["timestamp"], 1_700_000_000);
    }
}
