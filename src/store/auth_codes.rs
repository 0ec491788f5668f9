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
    redirect_uri: String,
    code_challenge: Option<String>,
    expires_at: i64,
    consumed_at: Option<i64>,
    #[sqlx(flatten)]
    grant: GrantRow,
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

    /// Consumes a code issued to `client_id`: of many concurrent redemptions
    /// exactly one sees `Redeemed` (the conditional update decides), and a
    /// code of another client is left as it is. The grant is read before the
    /// code is consumed, so a replay that revokes it afterwards cannot make the
    /// winning redemption fail: the tokens it issues are revoked instead.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<CodeRedemption, Error> {
        let sql = format!(
            "select c.redirect_uri, c.code_challenge, c.expires_at, c.consumed_at, {} \
             from auth_codes c join grants g on g.id = c.grant_id where c.code_hash = $1 and g.client_id = $2",
            GRANT_COLUMNS.split(", ").map(|c| format!("g.{c}")).collect::<Vec<_>>().join(", ")
        );
        let row: Option<CodeRow> = sqlx::query_as(&sql)
            .bind(code_hash)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(CodeRedemption::Unknown);
        };
        let grant: Grant = row.grant.into();
        if row.consumed_at.is_some() {
            return Ok(CodeRedemption::Replayed { grant_id: grant.id });
        }
        let consumed = sqlx::query(
            "update auth_codes set consumed_at = $1 where code_hash = $2 and consumed_at is null",
        )
        .bind(now)
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        if consumed.rows_affected() != 1 {
            return Ok(CodeRedemption::Replayed { grant_id: grant.id });
        }
        Ok(CodeRedemption::Redeemed(Box::new(AuthCode {
            redirect_uri: row.redirect_uri,
            code_challenge: row.code_challenge,
            expires_at: row.expires_at,
            grant,
        })))
    }
}
