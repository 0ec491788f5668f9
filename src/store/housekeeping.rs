//! Purging what has expired, so that the tables stay flat under steady load.
//! Every statement is idempotent: several nodes may purge at once.

use super::{Error, Store};

/// How long past their end rows are kept, and the provider's lifetimes the
/// purge must respect.
#[derive(Clone, Copy, Debug)]
pub struct Horizons {
    /// A grant outlives its last refresh token by this long: its access
    /// tokens' lifetime, and at least its code's, so that a replay of the code
    /// finds the grant for as long as the code could be redeemed.
    pub grant_memory_secs: i64,
    /// Counters whose window started this long ago, and that hold no lock, are forgotten.
    pub failure_memory_secs: i64,
    /// Delivered back-channel logouts are kept this long; failed ones seven times as long.
    pub delivery_memory_secs: i64,
}

/// How many rows each purge removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub rows: u64,
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub grants: u64,
}

impl Store {
    /// Deletes what ended before `now`, by the `horizons`.
    pub async fn purge_expired(&self, now: i64, horizons: Horizons) -> Result<Purged, Error> {
        let mut purged = Purged::default();
        let run = |sql: &'static str, at: i64| async move {
            let done = sqlx::query(sql)
                .bind(at)
                .execute(&mut *self.write().await?)
                .await?;
            Ok::<u64, Error>(done.rows_affected())
        };
        purged.refresh_tokens =
            run("delete from refresh_tokens where expires_at < $1", now).await?;
        purged.sessions = run(
            "delete from sessions where expires_at < $1 or last_seen_at + idle_secs < $1",
            now,
        )
        .await?;
        purged.grants = run(
            "delete from grants where created_at < $1 \
             and not exists (select 1 from refresh_tokens r where r.grant_id = grants.id)",
            now - horizons.grant_memory_secs,
        )
        .await?;
        let mut rows = purged.refresh_tokens + purged.sessions + purged.grants;
        for sql in [
            "delete from revoked_access_tokens where expires_at < $1",
            "delete from auth_requests where expires_at < $1",
            "delete from pending_logins where expires_at < $1",
            "delete from password_links where expires_at < $1",
            "delete from remembered_devices where expires_at < $1",
            "delete from setup_tokens where expires_at < $1",
            "delete from webauthn_challenges where expires_at < $1",
            "delete from client_assertions where expires_at < $1",
            "delete from dpop_proofs where expires_at < $1",
            "delete from device_codes where expires_at < $1",
        ] {
            rows += run(sql, now).await?;
        }
        rows += sqlx::query(
            "delete from failure_counters where window_start < $1 \
             and (locked_until is null or locked_until < $2)",
        )
        .bind(now - horizons.failure_memory_secs)
        .bind(now)
        .execute(&mut *self.write().await?)
        .await?
        .rows_affected();
        rows += sqlx::query(
            "delete from logout_deliveries where (delivered_at is not null and delivered_at < $1) \
             or (failed_at is not null and failed_at < $2)",
        )
        .bind(now - horizons.delivery_memory_secs)
        .bind(now - 7 * horizons.delivery_memory_secs)
        .execute(&mut *self.write().await?)
        .await?
        .rows_affected();
        purged.rows = rows;
        Ok(purged)
    }

    /// Whether the database answers, and whether every migration this build
    /// knows is applied.
    pub async fn readiness(&self) -> Result<Readiness, Error> {
        let (applied,): (i64,) =
            sqlx::query_as("select count(*) from _sqlx_migrations where success = true")
                .fetch_one(&mut *self.read().await?)
                .await?;
        let known = self.migrator().iter().count() as i64;
        Ok(Readiness {
            migrations_applied: applied,
            migrations_known: known,
        })
    }
}

/// What `/readyz` reports of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub migrations_applied: i64,
    pub migrations_known: i64,
}
