//! Housekeeping on a schedule: expired sessions, tokens, sign-in
//! requests, counters and delivered logout tokens are purged, so that the
//! database stays flat under steady load. Safe on several nodes at once.

use std::time::Duration;

use crate::app::AppState;
use crate::config::Config;
use crate::store::{self, Horizons, Purged};

/// What the purge keeps, from the provider's settings.
pub fn horizons(config: &Config) -> Horizons {
    Horizons {
        grant_memory_secs: config
            .access_token_lifetime_secs
            .max(config.code_lifetime_secs),
        // The longest failure window (the second step's day), so no live count is lost.
        failure_memory_secs: (24 * 3600).max(config.password_failure_window_secs),
        delivery_memory_secs: 24 * 3600,
    }
}

/// One purge, now.
pub async fn purge(app: &AppState) -> Result<Purged, store::Error> {
    let purged = app
        .store
        .purge_expired(app.clock.now(), horizons(&app.config))
        .await?;
    if purged.rows > 0 {
        tracing::info!(
            rows = purged.rows,
            sessions = purged.sessions,
            refresh_tokens = purged.refresh_tokens,
            grants = purged.grants,
            longest_batch_us = purged.longest_batch.as_micros() as u64,
            "purged expired rows"
        );
    }
    Ok(purged)
}

/// Purges every `purge_interval_secs` until the task is aborted.
pub async fn run(app: AppState) {
    let every = Duration::from_secs(app.config.purge_interval_secs.max(1) as u64);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = purge(&app).await {
            tracing::warn!(%err, "purging expired rows failed; trying again later");
        }
    }
}
