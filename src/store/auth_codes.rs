//! Authorization codes: stored as hashes in their grant's row, consumed once.

use super::grants::{insert_grant, GrantRow, GRANT_COLUMNS};
use super::{Backend, Error, Grant, NewGrant, Store};

pub struct NewAuthCode<'a> {
    pub code_hash: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub expires_at: i64,
}

/// The refresh token that a code's exchange will hand out, stored as the code is consumed.
pub struct FirstRefresh<'a> {
    pub token_hash: &'a str,
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
    code_redirect_uri: String,
    code_challenge: Option<String>,
    code_expires_at: i64,
    #[sqlx(flatten)]
    grant: GrantRow,
}

impl Store {
    /// Stores a grant with the code that will redeem it, in one row.
    pub async fn create_grant_with_code(
        &self,
        grant: NewGrant<'_>,
        code: NewAuthCode<'_>,
    ) -> Result<(), Error> {
        insert_grant(&mut *self.write().await?, &grant, Some(&code)).await
    }

    /// Consumes a code issued to `client_id` and, in the same statement, stores
    /// the exchange's refresh token: of many concurrent redemptions exactly one
    /// sees `Redeemed` (the conditional update decides, and returns the grant
    /// as it was when the code was consumed), only that one stores its refresh
    /// token, and a code of another client is left as it is. A replay that
    /// revokes the grant afterwards cannot make the winning redemption fail:
    /// the tokens it issues are revoked instead. One write, not two, because
    /// SQLite has one writer and every write waits for it.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: i64,
        refresh: FirstRefresh<'_>,
    ) -> Result<CodeRedemption, Error> {
        let returning =
            format!("code_redirect_uri, code_challenge, code_expires_at, {GRANT_COLUMNS}");
        let consume = format!(
            "update grants set code_consumed_at = $1 \
             where code_hash = $2 and client_id = $3 and code_consumed_at is null \
             returning {returning}"
        );
        let store = "insert into refresh_tokens (token_hash, grant_id, expires_at, created_at) \
                     select $4, id, $5, $1 from";
        let sql = match self.backend {
            // Two statements in one call; `changes()` is what the update changed.
            Backend::Sqlite => {
                format!("{consume}; {store} grants where code_hash = $2 and changes() = 1")
            }
            Backend::Postgres => format!(
                "with consumed as ({consume}), stored as ({store} consumed) select {returning} from consumed"
            ),
        };
        // Every row, so that the second statement runs to its end.
        let rows: Vec<CodeRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(code_hash)
            .bind(client_id)
            .bind(refresh.token_hash)
            .bind(refresh.expires_at)
            .fetch_all(&mut *self.write().await?)
            .await?;
        let row = rows.into_iter().next();
        if let Some(row) = row {
            return Ok(CodeRedemption::Redeemed(Box::new(AuthCode {
                redirect_uri: row.code_redirect_uri,
                code_challenge: row.code_challenge,
                expires_at: row.code_expires_at,
                grant: row.grant.into(),
            })));
        }
        let known: Option<(String,)> = sqlx::query_as(
            "select id from grants where code_hash = $1 and client_id = $2 \
             and code_consumed_at is not null",
        )
        .bind(code_hash)
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(match known {
            Some((grant_id,)) => CodeRedemption::Replayed { grant_id },
            None => CodeRedemption::Unknown,
        })
    }
}
