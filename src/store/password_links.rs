//! The `password_links` table: one-time links that set a user's password,
//! an administrator's or a reset mailed on request (with the address).

use super::{Error, Store};
use sqlx::Connection;

impl Store {
    /// Replaces any earlier link of the user with this one, mailed to
    /// `sent_to` (an administrator's link has none).
    pub async fn put_password_link(
        &self,
        token_hash: &str,
        user_id: &str,
        sent_to: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("delete from password_links where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into password_links (token_hash, user_id, sent_to, expires_at, created_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(sent_to)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user a live link is for, and the address it was mailed to.
    pub async fn password_link_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(String, Option<String>)>, Error> {
        Ok(sqlx::query_as(
            "select user_id, sent_to from password_links \
             where token_hash = $1 and expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    /// Uses the link: sets the password of its user, once. False when the
    /// link has expired or was used meanwhile.
    pub async fn set_password_with_link(
        &self,
        token_hash: &str,
        user_id: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let taken = sqlx::query(
            "delete from password_links where token_hash = $1 and user_id = $2 and expires_at > $3",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("update users set password_hash = $1 where id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
