//! The `auth_requests` table: validated authorization requests parked while
//! the user signs in.

use super::{Error, Store};

impl Store {
    pub async fn put_auth_request(
        &self,
        id: &str,
        params: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "insert into auth_requests (id, params, created_at, expires_at) values ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(params)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// A parked request and when it was parked.
    pub async fn auth_request(&self, id: &str, now: i64) -> Result<Option<(String, i64)>, Error> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "select params, created_at from auth_requests where id = $1 and expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row)
    }

    /// Removes a parked request; `true` when this call was the one that removed it.
    pub async fn take_auth_request(&self, id: &str) -> Result<bool, Error> {
        let done = sqlx::query("delete from auth_requests where id = $1")
            .bind(id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a parked request as completed by the sign-in of session `sid`.
    pub async fn complete_auth_request(&self, id: &str, sid: &str) -> Result<(), Error> {
        sqlx::query("update auth_requests set completed_sid = $1 where id = $2")
            .bind(sid)
            .bind(id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// The session that completed a parked request, if any.
    pub async fn auth_request_completed_by(&self, id: &str) -> Result<Option<String>, Error> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("select completed_sid from auth_requests where id = $1")
                .bind(id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(row.and_then(|(sid,)| sid))
    }
}
