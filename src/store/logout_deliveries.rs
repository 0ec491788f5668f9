//! The `logout_deliveries` table: back-channel logouts waiting to be sent,
//! claimed by one node at a time and retried with backoff.

use super::{Error, Store};
use sqlx::Connection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LogoutDelivery {
    pub id: String,
    pub client_id: String,
    pub uri: String,
    pub sid: String,
    pub sub: String,
    pub attempts: i64,
}

impl Store {
    /// Ends a provider session: queues a back-channel logout for every
    /// relying party that received a token in it and registered a URI,
    /// revokes the grants made in it, and deletes it. Returns the queued count.
    pub async fn end_session(&self, sid: &str, now: i64) -> Result<u64, Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        // Writing first takes the lock (a row lock in PostgreSQL, the write
        // lock in SQLite): of two concurrent ends of one session, one queues.
        let deleted = sqlx::query("delete from sessions where sid = $1")
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(0);
        }
        let receivers: Vec<(String, String, String)> = sqlx::query_as(
            "select distinct g.client_id, c.backchannel_logout_uri, g.user_id from grants g \
             join clients c on c.client_id = g.client_id \
             where g.sid = $1 and c.backchannel_logout_uri is not null",
        )
        .bind(sid)
        .fetch_all(&mut *tx)
        .await?;
        for (client_id, uri, sub) in &receivers {
            sqlx::query(
                "insert into logout_deliveries (id, client_id, uri, sid, sub, attempts, next_attempt_at, created_at) \
                 values ($1, $2, $3, $4, $5, 0, $6, $6)",
            )
            .bind(crate::auth::secret::random_id())
            .bind(client_id)
            .bind(uri)
            .bind(sid)
            .bind(sub)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("update grants set revoked_at = $1 where sid = $2 and revoked_at is null")
            .bind(now)
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from sessions where sid = $1")
            .bind(sid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(receivers.len() as u64)
    }

    /// Claims up to `limit` due deliveries for `lease_secs`. The outer
    /// conditions are checked again on each row, so two nodes never claim the
    /// same delivery.
    pub async fn claim_logout_deliveries(
        &self,
        now: i64,
        lease_secs: i64,
        limit: i64,
    ) -> Result<Vec<LogoutDelivery>, Error> {
        let rows = sqlx::query_as(
            "update logout_deliveries set locked_until = $1 \
             where id in (select id from logout_deliveries \
                          where delivered_at is null and failed_at is null and next_attempt_at <= $2 \
                            and (locked_until is null or locked_until <= $2) \
                          order by next_attempt_at limit $3) \
               and delivered_at is null and failed_at is null \
               and (locked_until is null or locked_until <= $2) \
             returning id, client_id, uri, sid, sub, attempts",
        )
        .bind(now + lease_secs)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.write().await?)
        .await?;
        Ok(rows)
    }

    /// Records a delivery made under the lease `lease_until` (a lease that
    /// another node has taken over since is left alone).
    pub async fn logout_delivered(
        &self,
        id: &str,
        lease_until: i64,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "update logout_deliveries set delivered_at = $1, attempts = attempts + 1, locked_until = null \
             where id = $2 and locked_until = $3",
        )
            .bind(now)
            .bind(id)
            .bind(lease_until)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    pub async fn logout_attempt_failed(
        &self,
        id: &str,
        lease_until: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "update logout_deliveries set attempts = attempts + 1, last_error = $1, locked_until = null, \
             next_attempt_at = coalesce($2, next_attempt_at), failed_at = case when $2 is null then $3 else null end \
             where id = $4 and locked_until = $5",
        )
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .bind(lease_until)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Deliveries not yet sent nor given up.
    pub async fn pending_logout_deliveries(&self) -> Result<i64, Error> {
        let (count,): (i64,) =
            sqlx::query_as("select count(*) from logout_deliveries where delivered_at is null and failed_at is null")
                .fetch_one(&mut *self.read().await?)
                .await?;
        Ok(count)
    }
}
