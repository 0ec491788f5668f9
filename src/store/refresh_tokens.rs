//! The `refresh_tokens` table: hashes of refresh tokens, each usable once.

use super::grants::{GrantRow, GRANT_COLUMNS};
use super::{Error, FirstRefresh, Grant, Store};
use sqlx::Connection;

/// A refresh token that can still be used, with its grant.
#[derive(Debug)]
pub struct RefreshStatus {
    pub grant: Grant,
    pub expires_at: i64,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    grant_id: String,
    expires_at: i64,
    created_at: i64,
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum RefreshRotation {
    /// This call used the token; its grant (possibly revoked: check).
    Rotated(Box<Grant>),
    /// The token had been used before: the family it belongs to.
    Reused { grant_id: String },
    /// Unknown or expired.
    Invalid,
    /// Bound to a DPoP key other than the one presented (or presented
    /// without one): left as it was.
    OtherKey,
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
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Removes a refresh token that was stored but never handed out.
    pub async fn delete_refresh_token(&self, token_hash: &str) -> Result<(), Error> {
        sqlx::query("delete from refresh_tokens where token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// Rotates a refresh token: marks it used and stores `next` in its
    /// place, in one transaction, so that a failure leaves the old one
    /// usable. Of concurrent uses one wins, and every later use is a reuse.
    /// Only a token of `client_id`'s grants is touched: another client's token
    /// is `Invalid` and stays as it was; so is a token bound to a DPoP key
    /// other than `jkt`, `OtherKey`.
    pub async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        jkt: Option<&str>,
        next: FirstRefresh<'_>,
        now: i64,
    ) -> Result<RefreshRotation, Error> {
        let used: Option<(String,)> = {
            let mut conn = self.write().await?;
            let mut tx = conn.begin().await?;
            let used: Option<(String,)> = sqlx::query_as(
                "update refresh_tokens set used_at = $1 where token_hash = $2 and used_at is null \
                 and expires_at > $1 and exists (select 1 from grants g \
                 where g.id = refresh_tokens.grant_id and g.client_id = $3 \
                 and (g.dpop_jkt is null or g.dpop_jkt = $4)) returning grant_id",
            )
            .bind(now)
            .bind(token_hash)
            .bind(client_id)
            .bind(jkt)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((grant_id,)) = &used {
                sqlx::query(
                    "insert into refresh_tokens (token_hash, grant_id, expires_at, created_at) \
                     values ($1, $2, $3, $4)",
                )
                .bind(next.token_hash)
                .bind(grant_id)
                .bind(next.expires_at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            used
        };
        let Some((grant_id,)) = used else {
            let known: Option<(String, Option<i64>, Option<String>)> = sqlx::query_as(
                "select r.grant_id, r.used_at, g.dpop_jkt from refresh_tokens r \
                 join grants g on g.id = r.grant_id where r.token_hash = $1 and g.client_id = $2",
            )
            .bind(token_hash)
            .bind(client_id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
            return Ok(match known {
                // Without the key, a bound token is not even a reuse: whoever
                // lacks the key cannot revoke the family with it.
                Some((_, _, Some(bound))) if Some(bound.as_str()) != jkt => {
                    RefreshRotation::OtherKey
                }
                Some((grant_id, Some(_), _)) => RefreshRotation::Reused { grant_id },
                _ => RefreshRotation::Invalid,
            });
        };
        let sql = format!("select {GRANT_COLUMNS} from grants where id = $1");
        let row: Option<GrantRow> = sqlx::query_as(&sql)
            .bind(&grant_id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(match row {
            Some(row) => RefreshRotation::Rotated(Box::new(row.into())),
            None => RefreshRotation::Invalid,
        })
    }

    /// The grant a refresh token (used or not) belongs to.
    pub async fn refresh_token_grant(&self, token_hash: &str) -> Result<Option<Grant>, Error> {
        let row: Option<(String,)> =
            sqlx::query_as("select grant_id from refresh_tokens where token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        match row {
            Some((grant_id,)) => self.grant(&grant_id).await,
            None => Ok(None),
        }
    }

    /// A refresh token that is neither used nor expired, without using it.
    pub async fn refresh_token_status(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<RefreshStatus>, Error> {
        let row: Option<StatusRow> = sqlx::query_as(
            "select grant_id, expires_at, created_at from refresh_tokens \
             where token_hash = $1 and used_at is null and expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(self.grant(&row.grant_id).await?.map(|grant| RefreshStatus {
            grant,
            expires_at: row.expires_at,
            created_at: row.created_at,
        }))
    }

    pub async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), Error> {
        sqlx::query(
            "insert into revoked_access_tokens (jti, expires_at) values ($1, $2) on conflict (jti) do nothing",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    pub async fn access_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        let row: Option<(String,)> =
            sqlx::query_as("select jti from revoked_access_tokens where jti = $1")
                .bind(jti)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(row.is_some())
    }
}
