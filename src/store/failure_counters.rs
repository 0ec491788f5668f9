//! The `failure_counters` table: failed attempts per key (a user's second
//! step, a user's password, a client IP), shared by every node.

use super::{Error, Store};

impl Store {
    /// When `key` is locked, until when.
    pub async fn locked_until(&self, key: &str, now: i64) -> Result<Option<i64>, Error> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("select locked_until from failure_counters where key = $1")
                .bind(key)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(row.and_then(|(until,)| until).filter(|until| *until > now))
    }

    /// The latest lock still running among `first` and `second`, in one read.
    pub async fn locked_until_either(
        &self,
        first: &str,
        second: &str,
        now: i64,
    ) -> Result<Option<i64>, Error> {
        let row: Option<(i64,)> = sqlx::query_as(
            "select locked_until from failure_counters where key in ($1, $2) \
             and locked_until > $3 order by locked_until desc limit 1",
        )
        .bind(first)
        .bind(second)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(|(until,)| until))
    }

    /// Counts an attempt before it is checked (so that concurrent attempts
    /// cannot all slip under the limit). Returns the attempts in the current
    /// window and, if the key is locked, until when. A lock that has run out
    /// starts a new window.
    pub async fn count_attempt(
        &self,
        key: &str,
        now: i64,
        window_secs: i64,
    ) -> Result<(i64, Option<i64>), Error> {
        let (attempts, locked_until): (i64, Option<i64>) = sqlx::query_as(
            "insert into failure_counters (key, failures, window_start) values ($1, 1, $2) \
             on conflict (key) do update set \
               failures = case when failure_counters.window_start + $3 <= $2 \
                                 or failure_counters.locked_until <= $2 then 1 \
                               else failure_counters.failures + 1 end, \
               window_start = case when failure_counters.window_start + $3 <= $2 \
                                     or failure_counters.locked_until <= $2 then $2 \
                                   else failure_counters.window_start end, \
               locked_until = case when failure_counters.locked_until <= $2 then null \
                                   else failure_counters.locked_until end \
             returning failures, locked_until",
        )
        .bind(key)
        .bind(now)
        .bind(window_secs)
        .fetch_one(&mut *self.write().await?)
        .await?;
        Ok((attempts, locked_until))
    }

    /// Takes back one counted attempt that turned out to succeed.
    pub async fn forgive_attempt(&self, key: &str) -> Result<(), Error> {
        sqlx::query(
            "update failure_counters set failures = failures - 1 where key = $1 and failures > 0",
        )
        .bind(key)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Locks `key` after a checked attempt reached the limit: for `base_secs`
    /// the first time since its last success, twice as long each time after,
    /// at most a day. Returns the end of the lock.
    pub async fn lock_escalating(&self, key: &str, now: i64, base_secs: i64) -> Result<i64, Error> {
        let (locks,): (i64,) = sqlx::query_as(
            "update failure_counters set locks = locks + 1 where key = $1 returning locks",
        )
        .bind(key)
        .fetch_one(&mut *self.write().await?)
        .await?;
        let until = now + lock_secs(base_secs, locks);
        self.lock(key, until).await?;
        Ok(until)
    }

    /// Locks `key` until `until` (a later attempt after that starts a new window).
    pub async fn lock(&self, key: &str, until: i64) -> Result<(), Error> {
        sqlx::query("update failure_counters set locked_until = $1 where key = $2 and coalesce(locked_until, 0) < $1")
            .bind(until)
            .bind(key)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// Forgets the failures of `key` (after a success, or an unlock).
    pub async fn clear_failures(&self, key: &str) -> Result<(), Error> {
        sqlx::query("delete from failure_counters where key = $1")
            .bind(key)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }
}

/// The length of the `locks`-th lock: `base_secs` doubled each time, at most a day.
fn lock_secs(base_secs: i64, locks: i64) -> i64 {
    const DAY: i64 = 24 * 3600;
    let doublings = (locks - 1).clamp(0, 20) as u32;
    base_secs
        .saturating_mul(1i64 << doublings)
        .min(DAY.max(base_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_a_day() {
        assert_eq!(lock_secs(900, 1), 900);
        assert_eq!(lock_secs(900, 2), 1800);
        assert_eq!(lock_secs(900, 3), 3600);
        assert_eq!(lock_secs(900, 10), 86400);
        assert_eq!(lock_secs(900, 1000), 86400);
    }
}
