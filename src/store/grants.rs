//! The `grants` table: what one authorization gave one client, stored when
//! its code is redeemed. Refresh tokens point at a grant; revoking it revokes all of them, and the
//! access tokens that name it.

use super::{Error, Store};

#[derive(Clone, Debug)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub revoked_at: Option<i64>,
    /// The DPoP key (its JWK thumbprint) the grant's refresh tokens are
    /// bound to: a public client's, when it redeemed the code with a proof.
    pub dpop_jkt: Option<String>,
}

pub struct NewGrant<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub sid: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub acr: &'a str,
    pub amr: &'a [String],
    pub dpop_jkt: Option<&'a str>,
    pub now: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct GrantRow {
    id: String,
    client_id: String,
    user_id: String,
    sid: String,
    scope: String,
    nonce: Option<String>,
    auth_time: i64,
    acr: String,
    amr: String,
    revoked_at: Option<i64>,
    dpop_jkt: Option<String>,
}

impl From<GrantRow> for Grant {
    fn from(row: GrantRow) -> Self {
        Grant {
            id: row.id,
            client_id: row.client_id,
            user_id: row.user_id,
            sid: row.sid,
            scope: row.scope,
            nonce: row.nonce,
            auth_time: row.auth_time,
            acr: row.acr,
            amr: row
                .amr
                .split(' ')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            revoked_at: row.revoked_at,
            dpop_jkt: row.dpop_jkt,
        }
    }
}

pub(super) const GRANT_COLUMNS: &str =
    "id, client_id, user_id, sid, scope, nonce, auth_time, acr, amr, revoked_at, dpop_jkt";

/// The columns a new grant fills, in the order of `NewGrant`'s fields.
pub(super) const GRANT_INSERT_COLUMNS: &str =
    "id, client_id, user_id, sid, scope, nonce, auth_time, acr, amr, created_at, dpop_jkt";

impl Store {
    pub async fn grant(&self, id: &str) -> Result<Option<Grant>, Error> {
        let sql = format!("select {GRANT_COLUMNS} from grants where id = $1");
        let row: Option<GrantRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(Grant::from))
    }

    /// Revokes a grant: its refresh tokens stop working and its access tokens
    /// are refused at userinfo.
    pub async fn revoke_grant(&self, id: &str, now: i64) -> Result<(), Error> {
        sqlx::query("update grants set revoked_at = $1 where id = $2 and revoked_at is null")
            .bind(now)
            .bind(id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// Revokes every grant of a user but those of session `keep_sid`:
    /// refresh tokens stop, access tokens are refused.
    pub async fn revoke_grants_of_user(
        &self,
        user_id: &str,
        keep_sid: Option<&str>,
        now: i64,
    ) -> Result<u64, Error> {
        let all = "update grants set revoked_at = $1 where user_id = $2 and revoked_at is null";
        let but = "update grants set revoked_at = $1 where user_id = $2 and revoked_at is null \
                   and (sid is null or sid <> $3)";
        let query = match keep_sid {
            Some(keep) => sqlx::query(but).bind(now).bind(user_id).bind(keep),
            None => sqlx::query(all).bind(now).bind(user_id),
        };
        let done = query.execute(&mut *self.write().await?).await?;
        Ok(done.rows_affected())
    }
}
