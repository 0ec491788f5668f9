//! Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 §2.5):
//! a background task claims due deliveries from the database, signs a fresh
//! logout token for each, POSTs it, and retries failures with backoff.

use std::time::Duration;

use crate::app::AppState;
use crate::auth::secret;
use crate::oidc::claims::{logout_token, LOGOUT_TOKEN_TYP};
use crate::oidc::keys::Alg;
use crate::store::{self, LogoutDelivery};

/// How long a claimed delivery is reserved for the node that claimed it:
/// longer than one attempt can take (5 s to connect, 10 s in all).
const LEASE_SECS: i64 = 60;
/// After this many failed attempts (about a day of backoff) a delivery is given up.
const MAX_ATTEMPTS: i64 = 16;

/// Seconds until the next try after `attempts` failures: 5 s doubling, at most an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    (5i64 << attempts.clamp(0, 10)).min(3600)
}

/// Runs until the process ends: delivers whenever woken, and at least every second.
pub async fn run(app: AppState) {
    loop {
        match deliver_due(&app).await {
            Ok(_) => {}
            Err(err) => tracing::error!(%err, "back-channel logout delivery failed"),
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), app.deliveries.notified()).await;
    }
}

/// Sends every delivery that is due now, claiming one at a time so that a
/// slow relying party never outlasts a lease; returns how many were attempted.
pub async fn deliver_due(app: &AppState) -> Result<usize, store::Error> {
    let mut attempted = 0;
    loop {
        let now = app.clock.now();
        let lease_until = now + LEASE_SECS;
        let Some(delivery) = app
            .store
            .claim_logout_deliveries(now, LEASE_SECS, 1)
            .await?
            .pop()
        else {
            return Ok(attempted);
        };
        attempted += 1;
        let outcome = send(app, &delivery).await;
        let now = app.clock.now();
        match outcome {
            Ok(()) => {
                app.store
                    .logout_delivered(&delivery.id, lease_until, now)
                    .await?;
                tracing::info!(client_id = %delivery.client_id, "back-channel logout delivered");
                metrics::counter!("gatehouse_logout_deliveries_total", "outcome" => "delivered")
                    .increment(1);
            }
            Err(error) => {
                let attempts = delivery.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| now + backoff_secs(attempts - 1));
                tracing::warn!(client_id = %delivery.client_id, attempts, %error, "back-channel logout not delivered");
                let outcome = if retry_at.is_some() {
                    "retry"
                } else {
                    "failed"
                };
                metrics::counter!("gatehouse_logout_deliveries_total", "outcome" => outcome)
                    .increment(1);
                app.store
                    .logout_attempt_failed(&delivery.id, lease_until, &error, retry_at, now)
                    .await?;
            }
        }
    }
}

async fn send(app: &AppState, delivery: &LogoutDelivery) -> Result<(), String> {
    let client = app
        .store
        .client(&delivery.client_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the client is no longer registered")?;
    let alg = Alg::parse(&client.id_token_alg).unwrap_or(Alg::RS256);
    let now = app.clock.now();
    let claims = logout_token(
        app.config.issuer(),
        &client.client_id,
        &delivery.sub,
        &delivery.sid,
        secret::random_id(),
        now,
    );
    let token = app
        .keys
        .sign(alg, LOGOUT_TOKEN_TYP, &claims)
        .map_err(|e| e.to_string())?;
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    let response = app
        .http
        .client()?
        .post(&delivery.uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    // §2.8: 200 (or 204) is success; anything else is retried.
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_to_an_hour() {
        assert_eq!(backoff_secs(0), 5);
        assert_eq!(backoff_secs(1), 10);
        assert_eq!(backoff_secs(3), 40);
        assert_eq!(backoff_secs(10), 3600);
        assert_eq!(backoff_secs(50), 3600);
    }
}
