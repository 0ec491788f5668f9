//! The `auth_codes` table: authorization codes, stored as hashes, consumed once.

use super::grants::{insert_grant, GrantRow, GRANT_COLUMNS};
use super::{Error, Grant, NewGrant, Store};

pub struct NewAuthCode<'a> {
    pub code_hash: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub expires_at: i64,
}

#[derive(Debug)]
pub struct AuthCode {
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub expires_at: i64,
    pub grant: Grant,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum CodeRedemption {
    /// This call consumed the code.
    Redeemed(Box<AuthCode>),
    /// The code had been redeemed before: the grant it named.
    Replayed {
        grant_id: String,
    },
    Unknown,
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    grant_id: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    expires_at: i64,
}

impl Store {
    /// Stores a grant and the code that will redeem it.
    pub async fn create_grant_with_code(
        &self,
        grant: NewGrant<'_>,
        code: NewAuthCode<'_>,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        insert_grant(&mut *tx, &grant).await?;
        sqlx::query(
            "insert into auth_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at, \
             created_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(code.code_hash)
        .bind(grant.id)
        .bind(code.redirect_uri)
        .bind(code.code_challenge)
        .bind(code.expires_at)
        .bind(grant.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Consumes a code issued to `client_id`, in one statement, so that of
    /// many concurrent redemptions exactly one sees `Redeemed`. A code of
    /// another client is left as it is.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<CodeRedemption, Error> {
        let row: Option<CodeRow> = sqlx::query_as(
            "update auth_codes set consumed_at = $1 where code_hash = $2 and consumed_at is null \
             and exists (select 1 from grants g where g.id = auth_codes.grant_id and g.client_id = $3) \
             returning grant_id, redirect_uri, code_challenge, expires_at",
        )
        .bind(now)
        .bind(code_hash)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            let known: Option<(String, Option<i64>)> = sqlx::query_as(
                "select c.grant_id, c.consumed_at from auth_codes c join grants g on g.id = c.grant_id \
                 where c.code_hash = $1 and g.client_id = $2",
            )
            .bind(code_hash)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
            return Ok(match known {
                Some((grant_id, Some(_))) => CodeRedemption::Replayed { grant_id },
                _ => CodeRedemption::Unknown,
            });
        };
        let sql = format!("select {GRANT_COLUMNS} from grants where id = $1");
        let grant: GrantRow = sqlx::query_as(&sql)
            .bind(&row.grant_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound("grant of an authorization code"))?;
        Ok(CodeRedemption::Redeemed(Box::new(AuthCode {
            redirect_uri: row.redirect_uri,
            code_challenge: row.code_challenge,
            expires_at: row.expires_at,
            grant: grant.into(),
        })))
    }
}
