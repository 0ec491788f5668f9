//! What a user verified of their contact details: the email address (and
//! whether it carries codes) and the recovery phone, on the `users` row.

use super::{Error, Store};
use sqlx::Connection;

impl Store {
    /// Marks the user's email address verified and, with `codes_on`, a factor.
    pub async fn verify_email(&self, user_id: &str, codes_on: bool, now: i64) -> Result<(), Error> {
        sqlx::query(
            "update users set email_verified_at = $1, \
             email_codes_on = case when $2 = 1 then 1 else email_codes_on end where id = $3",
        )
        .bind(now)
        .bind(i64::from(codes_on))
        .bind(user_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Turns email codes off for the user; the backup codes go too unless
    /// another second factor remains.
    pub async fn email_codes_off(&self, user_id: &str) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("update users set email_codes_on = 0 where id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(super::totp_factors::BACKUP_CODES_WITHOUT_FACTOR)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user's email verification and email-code state.
    pub async fn email_state(&self, user_id: &str) -> Result<(Option<i64>, bool), Error> {
        let row: Option<(Option<i64>, i64)> =
            sqlx::query_as("select email_verified_at, email_codes_on from users where id = $1")
                .bind(user_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(row.map_or((None, false), |(at, on)| (at, on != 0)))
    }

    /// The user's recovery phone and when it was verified.
    pub async fn phone_state(&self, user_id: &str) -> Result<Option<(String, i64)>, Error> {
        let row: Option<(Option<String>, Option<i64>)> =
            sqlx::query_as("select phone, phone_verified_at from users where id = $1")
                .bind(user_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(match row {
            Some((Some(phone), Some(at))) => Some((phone, at)),
            _ => None,
        })
    }

    /// Saves a verified recovery phone, replacing any other.
    pub async fn set_recovery_phone(
        &self,
        user_id: &str,
        phone: &str,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query("update users set phone = $1, phone_verified_at = $2 where id = $3")
            .bind(phone)
            .bind(now)
            .bind(user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// Removes the recovery phone; the backup codes go too when it was the
    /// last second factor.
    pub async fn remove_recovery_phone(&self, user_id: &str) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("update users set phone = null, phone_verified_at = null where id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(super::totp_factors::BACKUP_CODES_WITHOUT_FACTOR)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
