//! Purging what has expired, so that the tables stay flat under steady load.
//! Every statement is idempotent: several nodes may purge at once.

use std::time::{Duration, Instant};

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
    /// The longest any one batch held the writer.
    pub longest_batch: Duration,
}

/// Rows one purge statement deletes at most, so that it holds the writer
/// for a few milliseconds (the next writer goes between two batches).
const BATCH: i64 = 100;

/// What each table forgets: its key, and which rows have ended by `$1`
/// (on indexed columns, so that a batch finds its rows without a scan).
const ENDED: &[(&str, &str, &str)] = &[
    ("refresh_tokens", "token_hash", "expires_at < $1"),
    // Two ranges, not one `or`: SQLite gathers every row an `or` matches
    // before it takes a batch of them.
    ("sessions", "id_hash", "expires_at < $1"),
    ("sessions", "id_hash", "idle_until < $1"),
    ("revoked_access_tokens", "jti", "expires_at < $1"),
    ("auth_requests", "id", "expires_at < $1"),
    ("pending_logins", "id_hash", "expires_at < $1"),
    ("password_links", "token_hash", "expires_at < $1"),
    ("remembered_devices", "id", "expires_at < $1"),
    ("setup_tokens", "token_hash", "expires_at < $1"),
    ("webauthn_challenges", "id_hash", "expires_at < $1"),
    ("client_assertions", "(client_id, jti)", "expires_at < $1"),
    ("dpop_proofs", "(jkt, jti)", "expires_at < $1"),
    ("device_codes", "code_hash", "expires_at < $1"),
];

impl Store {
    /// Deletes what ended before `now`, by the `horizons`, in batches.
    pub async fn purge_expired(&self, now: i64, horizons: Horizons) -> Result<Purged, Error> {
        let mut purged = Purged::default();
        let mut rows = 0;
        for &(table, key, ended) in ENDED {
            let columns = key.trim_start_matches('(').trim_end_matches(')');
            let sql = format!(
                "delete from {table} where {key} in \
                 (select {columns} from {table} where {ended} limit {BATCH})"
            );
            let deleted = self
                .delete_in_batches(&sql, &[now], &mut purged.longest_batch)
                .await?;
            match table {
                "refresh_tokens" => purged.refresh_tokens = deleted,
                "sessions" => purged.sessions += deleted,
                _ => {}
            }
            rows += deleted;
        }
        purged.grants = self
            .purge_grants(now - horizons.grant_memory_secs, &mut purged.longest_batch)
            .await?;
        rows += purged.grants;
        rows += self
            .delete_in_batches(
                &format!(
                    "delete from failure_counters where key in (select key from failure_counters \
                     where window_start < $1 and (locked_until is null or locked_until < $2) \
                     limit {BATCH})"
                ),
                &[now - horizons.failure_memory_secs, now],
                &mut purged.longest_batch,
            )
            .await?;
        rows += self
            .delete_in_batches(
                &format!(
                    "delete from logout_deliveries where id in (select id from logout_deliveries \
                     where (delivered_at is not null and delivered_at < $1) \
                     or (failed_at is not null and failed_at < $2) limit {BATCH})"
                ),
                &[
                    now - horizons.delivery_memory_secs,
                    now - 7 * horizons.delivery_memory_secs,
                ],
                &mut purged.longest_batch,
            )
            .await?;
        purged.rows = rows;
        Ok(purged)
    }

    /// Runs a delete of at most `BATCH` rows until it deletes fewer, taking
    /// the writer afresh for each batch; how many rows went. `longest` keeps
    /// the longest time a batch held the writer.
    async fn delete_in_batches(
        &self,
        sql: &str,
        binds: &[i64],
        longest: &mut Duration,
    ) -> Result<u64, Error> {
        let mut deleted = 0;
        loop {
            let mut delete = sqlx::query(sql);
            for bind in binds {
                delete = delete.bind(*bind);
            }
            let mut writer = self.write().await?;
            let started = Instant::now();
            let done = delete.execute(&mut *writer).await?.rows_affected();
            drop(writer);
            let took = started.elapsed();
            *longest = (*longest).max(took);
            tracing::debug!(
                rows = done,
                micros = took.as_micros() as u64,
                sql,
                "purge batch"
            );
            deleted += done;
            if done < BATCH as u64 {
                return Ok(deleted);
            }
        }
    }

    /// Deletes the grants made before `before` that no refresh token points
    /// at any more. Most old grants still have one, so the reader finds the
    /// ones to go (a scan that holds no lock) and the writer deletes those by
    /// id, checking again, in batches.
    async fn purge_grants(&self, before: i64, longest: &mut Duration) -> Result<u64, Error> {
        let mut deleted = 0;
        let mut from = (i64::MIN, String::new());
        loop {
            let ids: Vec<(String, i64)> = sqlx::query_as(&format!(
                "select g.id, g.created_at from grants g where g.created_at < $1 \
                 and (g.created_at > $2 or (g.created_at = $2 and g.id > $3)) \
                 and not exists (select 1 from refresh_tokens r where r.grant_id = g.id) \
                 order by g.created_at, g.id limit {BATCH}"
            ))
            .bind(before)
            .bind(from.0)
            .bind(&from.1)
            .fetch_all(&mut *self.read().await?)
            .await?;
            let Some((last_id, last_at)) = ids.last().cloned() else {
                return Ok(deleted);
            };
            let places: Vec<String> = (2..ids.len() + 2).map(|n| format!("${n}")).collect();
            let sql = format!(
                "delete from grants where created_at < $1 and id in ({}) \
                 and not exists (select 1 from refresh_tokens r where r.grant_id = grants.id)",
                places.join(", ")
            );
            let mut delete = sqlx::query(&sql).bind(before);
            for (id, _) in &ids {
                delete = delete.bind(id);
            }
            let mut writer = self.write().await?;
            let started = Instant::now();
            let done = delete.execute(&mut *writer).await?.rows_affected();
            drop(writer);
            let took = started.elapsed();
            *longest = (*longest).max(took);
            tracing::debug!(
                rows = done,
                micros = took.as_micros() as u64,
                "purge batch of grants"
            );
            deleted += done;
            if (ids.len() as i64) < BATCH {
                return Ok(deleted);
            }
            from = (last_at, last_id);
        }
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
