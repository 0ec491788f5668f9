//! The `consents` table: the scopes a user allowed a third-party client, and
//! revoking them with the grants that client holds.

use sqlx::Connection;

use super::{Error, Store};

/// What one user allowed one client.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Consent {
    pub client_id: String,
    pub scope: String,
    pub granted_at: i64,
}

impl Store {
    /// What `user_id` allowed `client_id`, if anything.
    pub async fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>, Error> {
        Ok(sqlx::query_as(
            "select client_id, scope, granted_at from consents \
             where user_id = $1 and client_id = $2",
        )
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?)
    }

    /// Records that `user_id` allows `client_id` the scopes `scope`,
    /// replacing what was allowed before.
    pub async fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "insert into consents (user_id, client_id, scope, granted_at) values ($1, $2, $3, $4) \
             on conflict (user_id, client_id) \
             do update set scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Every client the user allowed, by client id.
    pub async fn consents_of(&self, user_id: &str) -> Result<Vec<Consent>, Error> {
        Ok(sqlx::query_as(
            "select client_id, scope, granted_at from consents where user_id = $1 \
             order by client_id",
        )
        .bind(user_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    /// Forgets what `user_id` allowed `client_id` and revokes every grant
    /// that client holds of the user (its refresh tokens stop, its access
    /// tokens are refused), in one transaction; whether there was a consent.
    pub async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query("delete from consents where user_id = $1 and client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update grants set revoked_at = $1 \
             where user_id = $2 and client_id = $3 and revoked_at is null",
        )
        .bind(now)
        .bind(user_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
