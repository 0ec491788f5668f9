//! The `totp_factors` table: one TOTP credential per user, its secret sealed
//! (see `auth::vault`), active once confirmed, with the last accepted step.

use super::{Error, Store};

/// Deletes the backup codes of user `$1` when no second factor remains.
pub(super) const BACKUP_CODES_WITHOUT_FACTOR: &str = "delete from backup_codes where user_id = $1 \
     and not exists (select 1 from totp_factors t where t.user_id = $1 and t.confirmed_at is not null) \
     and not exists (select 1 from webauthn_credentials w where w.user_id = $1) \
     and not exists (select 1 from users u where u.id = $1 and u.email_codes_on = 1) \
     and not exists (select 1 from users u join accounts a on a.id = u.account_id \
                     where u.id = $1 and u.phone_verified_at is not null \
                     and (',' || a.factors || ',') like '%,sms,%')";
use sqlx::Connection;

#[derive(Clone, Debug)]
pub struct TotpFactor {
    pub id: String,
    pub user_id: String,
    pub secret_enc: String,
    pub last_step: i64,
    pub confirmed_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct TotpRow {
    id: String,
    user_id: String,
    secret_enc: String,
    last_step: i64,
    confirmed_at: Option<i64>,
    last_used_at: Option<i64>,
    created_at: i64,
}

impl From<TotpRow> for TotpFactor {
    fn from(row: TotpRow) -> Self {
        TotpFactor {
            id: row.id,
            user_id: row.user_id,
            secret_enc: row.secret_enc,
            last_step: row.last_step,
            confirmed_at: row.confirmed_at,
            last_used_at: row.last_used_at,
            created_at: row.created_at,
        }
    }
}

const COLUMNS: &str = "id, user_id, secret_enc, last_step, confirmed_at, last_used_at, created_at";

impl Store {
    /// The user's active (confirmed) TOTP credential.
    pub async fn active_totp(&self, user_id: &str) -> Result<Option<TotpFactor>, Error> {
        let sql = format!(
            "select {COLUMNS} from totp_factors where user_id = $1 and confirmed_at is not null"
        );
        let row: Option<TotpRow> = sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(TotpFactor::from))
    }

    /// The user's unconfirmed enrolment, if one is under way.
    pub async fn pending_totp(&self, user_id: &str) -> Result<Option<TotpFactor>, Error> {
        let sql = format!(
            "select {COLUMNS} from totp_factors where user_id = $1 and confirmed_at is null \
             order by created_at desc, id limit 1"
        );
        let row: Option<TotpRow> = sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(TotpFactor::from))
    }

    /// Starts an enrolment, replacing any earlier unconfirmed one.
    pub async fn start_totp_enrolment(
        &self,
        id: &str,
        user_id: &str,
        secret_enc: &str,
        now: i64,
    ) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("delete from totp_factors where user_id = $1 and confirmed_at is null")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into totp_factors (id, user_id, secret_enc, last_step, created_at) values ($1, $2, $3, 0, $4)",
        )
        .bind(id)
        .bind(user_id)
        .bind(secret_enc)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Activates an enrolment with the step its confirmation code used (so that
    /// code cannot be replayed), and stores the user's new backup codes, in one
    /// transaction. `false` if the enrolment was no longer pending.
    pub async fn confirm_totp(
        &self,
        id: &str,
        user_id: &str,
        step: i64,
        backup_code_tags: &[String],
        now: i64,
    ) -> Result<bool, Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "update totp_factors set confirmed_at = $1, last_step = $2, last_used_at = $1 \
             where id = $3 and user_id = $4 and confirmed_at is null",
        )
        .bind(now)
        .bind(step)
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // Any older credential is replaced by the one just confirmed.
        sqlx::query("delete from totp_factors where user_id = $1 and id <> $2")
            .bind(user_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::backup_codes::replace(&mut tx, user_id, backup_code_tags, now).await?;
        sqlx::query("update users set must_enroll = 0 where id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records that `step` was accepted: of concurrent uses of one code, only
    /// the first one moves the step forward and gets `true`.
    pub async fn use_totp_step(&self, id: &str, step: i64, now: i64) -> Result<bool, Error> {
        let done = sqlx::query(
            "update totp_factors set last_step = $1, last_used_at = $2 where id = $3 and last_step < $1 \
             and confirmed_at is not null",
        )
        .bind(step)
        .bind(now)
        .bind(id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the user's TOTP credential and backup codes.
    pub async fn remove_second_factors(&self, user_id: &str) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("delete from totp_factors where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from backup_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from webauthn_credentials where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from contact_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update users set email_codes_on = 0, phone = null, phone_verified_at = null \
             where id = $1",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the user's authenticator app; their backup codes go with it
    /// unless a security key remains.
    pub async fn remove_totp(&self, user_id: &str) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("delete from totp_factors where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(BACKUP_CODES_WITHOUT_FACTOR)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
