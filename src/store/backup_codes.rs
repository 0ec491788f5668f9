//! The `backup_codes` table: keyed tags of one-time backup codes.

use super::{Error, Store};
use sqlx::Connection;

/// Replaces all of a user's backup codes (inside the caller's transaction).
pub(super) async fn replace(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    tags: &[String],
    now: i64,
) -> Result<(), Error> {
    sqlx::query("delete from backup_codes where user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for tag in tags {
        sqlx::query("insert into backup_codes (code_mac, user_id, created_at) values ($1, $2, $3)")
            .bind(tag)
            .bind(user_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A user's backup codes at a glance.
#[derive(Debug, Default)]
pub struct BackupCodeSummary {
    pub remaining: i64,
    pub last_used_at: Option<i64>,
}

impl Store {
    pub async fn replace_backup_codes(
        &self,
        user_id: &str,
        tags: &[String],
        now: i64,
    ) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        replace(&mut tx, user_id, tags, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Consumes a backup code in one statement: of concurrent uses exactly one gets `true`.
    pub async fn use_backup_code(&self, user_id: &str, tag: &str, now: i64) -> Result<bool, Error> {
        let done = sqlx::query(
            "update backup_codes set used_at = $1 where code_mac = $2 and user_id = $3 and used_at is null",
        )
        .bind(now)
        .bind(tag)
        .bind(user_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn backup_code_summary(&self, user_id: &str) -> Result<BackupCodeSummary, Error> {
        let (remaining,): (i64,) = sqlx::query_as(
            "select count(*) from backup_codes where user_id = $1 and used_at is null",
        )
        .bind(user_id)
        .fetch_one(&mut *self.read().await?)
        .await?;
        let (last_used_at,): (Option<i64>,) =
            sqlx::query_as("select max(used_at) from backup_codes where user_id = $1")
                .bind(user_id)
                .fetch_one(&mut *self.read().await?)
                .await?;
        Ok(BackupCodeSummary {
            remaining,
            last_used_at,
        })
    }
}
