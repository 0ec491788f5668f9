//! The `grants` table: what one authorization gave one client, with the code
//! that redeems it. Refresh tokens point at a grant; revoking it revokes all of them, and the
//! access tokens that name it.

use super::{Error, NewAuthCode, Store};

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
        }
    }
}

pub(super) const GRANT_COLUMNS: &str =
    "id, client_id, user_id, sid, scope, nonce, auth_time, acr, amr, revoked_at";

pub(super) async fn insert_grant<'e, E>(
    db: E,
    grant: &NewGrant<'_>,
    code: Option<&NewAuthCode<'_>>,
) -> Result<(), Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "insert into grants (id, client_id, user_id, sid, scope, nonce, auth_time, acr, amr, \
         created_at, code_hash, code_redirect_uri, code_challenge, code_expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(grant.id)
    .bind(grant.client_id)
    .bind(grant.user_id)
    .bind(grant.sid)
    .bind(grant.scope)
    .bind(grant.nonce)
    .bind(grant.auth_time)
    .bind(grant.acr)
    .bind(grant.amr.join(" "))
    .bind(grant.now)
    .bind(code.map(|c| c.code_hash))
    .bind(code.map(|c| c.redirect_uri))
    .bind(code.and_then(|c| c.code_challenge))
    .bind(code.map(|c| c.expires_at))
    .execute(db)
    .await?;
    Ok(())
}

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

    /// Revokes every grant of a user: refresh tokens stop, access tokens are refused.
    pub async fn revoke_grants_of_user(&self, user_id: &str, now: i64) -> Result<u64, Error> {
        let done = sqlx::query(
            "update grants set revoked_at = $1 where user_id = $2 and revoked_at is null",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected())
    }
}
