//! The `failure_counters` table: failed attempts per key (a user's second
//! step, a user's password, a client IP), shared by every node.

use super::{Error, Store};

/// What recording a failure left behind.
#[derive(Debug, PartialEq, Eq)]
pub struct FailureCount {
    pub failures: i64,
    /// Set when this failure reached the limit: the key is locked until then.
    pub locked_until: Option<i64>,
}

impl Store {
    /// When `key` is locked, until when.
    pub async fn locked_until(&self, key: &str, now: i64) -> Result<Option<i64>, Error> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("select locked_until from failure_counters where key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(until,)| until).filter(|until| *until > now))
    }

    /// Counts a failure within a window of `window_secs`; the `limit`-th locks
    /// the key for `lock_secs` and starts the count afresh.
    pub async fn record_failure(
        &self,
        key: &str,
        now: i64,
        window_secs: i64,
        limit: i64,
        lock_secs: i64,
    ) -> Result<FailureCount, Error> {
        // One statement, so that concurrent failures are all counted.
        let (failures,): (i64,) = sqlx::query_as(
            "insert into failure_counters (key, failures, window_start) values ($1, 1, $2) \
             on conflict (key) do update set \
               failures = case when failure_counters.window_start + $3 <= $2 then 1 \
                               else failure_counters.failures + 1 end, \
               window_start = case when failure_counters.window_start + $3 <= $2 then $2 \
                                   else failure_counters.window_start end \
             returning failures",
        )
        .bind(key)
        .bind(now)
        .bind(window_secs)
        .fetch_one(&self.pool)
        .await?;
        if failures < limit {
            return Ok(FailureCount {
                failures,
                locked_until: None,
            });
        }
        let until = now + lock_secs;
        sqlx::query("update failure_counters set locked_until = $1, failures = 0, window_start = $2 where key = $3")
            .bind(until)
            .bind(now)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(FailureCount {
            failures,
            locked_until: Some(until),
        })
    }

    /// Forgets the failures of `key` (after a success, or an unlock).
    pub async fn clear_failures(&self, key: &str) -> Result<(), Error> {
        sqlx::query("delete from failure_counters where key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
