//! The `setup_tokens` table: the one-time link that creates the first administrator.

use super::{Error, Store};
use sqlx::Connection;

impl Store {
    /// Replaces any earlier setup token with this one.
    pub async fn put_setup_token(
        &self,
        hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), Error> {
        sqlx::query("delete from setup_tokens")
            .execute(&mut *self.write().await?)
            .await?;
        sqlx::query(
            "insert into setup_tokens (token_hash, expires_at, created_at) values ($1, $2, $3)",
        )
        .bind(hash)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    pub async fn setup_token_is_live(&self, hash: &str, now: i64) -> Result<bool, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "select token_hash from setup_tokens where token_hash = $1 and expires_at > $2 \
             and not exists (select 1 from users)",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.is_some())
    }
}

impl Store {
    /// Consumes the setup token and creates the first account and its
    /// administrator, all or nothing: a rejected name leaves the token usable.
    pub async fn complete_setup(
        &self,
        token_hash: &str,
        account: super::NewTenant<'_>,
        user: super::NewUser<'_>,
    ) -> Result<bool, Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        // The link creates the first user only: once any user exists it is
        // refused here, inside the transaction that would use it.
        let taken = sqlx::query(
            "delete from setup_tokens where token_hash = $1 and expires_at > $2 \
             and not exists (select 1 from users)",
        )
        .bind(token_hash)
        .bind(account.now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(false);
        }
        super::accounts::insert_account(&mut *tx, &account).await?;
        super::users::insert_user(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(true)
    }
}
