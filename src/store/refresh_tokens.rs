//! The `refresh_tokens` table: hashes of refresh tokens, each usable once.

use super::grants::{GrantRow, GRANT_COLUMNS};
use super::{Error, Grant, Store};

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum RefreshRotation {
    /// This call used the token; its grant (possibly revoked: check).
    Rotated(Grant),
    /// The token had been used before: the family it belongs to.
    Reused { grant_id: String },
    /// Unknown or expired.
    Invalid,
}

impl Store {
    pub async fn put_refresh_token(
        &self,
        token_hash: &str,
        grant_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "insert into refresh_tokens (token_hash, grant_id, expires_at, created_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(grant_id)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a refresh token used, in one statement: of concurrent uses one wins,
    /// and every later use is a reuse.
    pub async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<RefreshRotation, Error> {
        let used: Option<(String,)> = sqlx::query_as(
            "update refresh_tokens set used_at = $1 where token_hash = $2 and used_at is null \
             and expires_at > $1 returning grant_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((grant_id,)) = used else {
            let known: Option<(String, Option<i64>)> = sqlx::query_as(
                "select grant_id, used_at from refresh_tokens where token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
            return Ok(match known {
                Some((grant_id, Some(_))) => RefreshRotation::Reused { grant_id },
                _ => RefreshRotation::Invalid,
            });
        };
        let sql = format!("select {GRANT_COLUMNS} from grants where id = $1");
        let row: Option<GrantRow> = sqlx::query_as(&sql)
            .bind(&grant_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => RefreshRotation::Rotated(row.into()),
            None => RefreshRotation::Invalid,
        })
    }
}
