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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn auth_request(&self, id: &str, now: i64) -> Result<Option<String>, Error> {
        let row: Option<(String,)> =
            sqlx::query_as("select params from auth_requests where id = $1 and expires_at > $2")
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(params,)| params))
    }

    /// Removes a parked request; `true` when this call was the one that removed it.
    pub async fn take_auth_request(&self, id: &str) -> Result<bool, Error> {
        let done = sqlx::query("delete from auth_requests where id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
