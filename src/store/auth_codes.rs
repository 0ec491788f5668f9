//! A code's redemption: the grant it carries is stored once, with the
//! exchange's first refresh token, in one write. Codes themselves are never
//! stored (they are sealed, see `oidc::auth_code`); the grant's id, chosen when
//! the code was issued, is what makes a second redemption a replay.

use super::grants::GRANT_INSERT_COLUMNS;
use super::{Backend, Error, NewGrant, Store};

/// The refresh token that a code's exchange will hand out, stored as the code is consumed.
pub struct FirstRefresh<'a> {
    pub token_hash: &'a str,
    pub expires_at: i64,
}

/// What storing a redeemed code's grant found.
#[derive(Debug, PartialEq, Eq)]
pub enum Redemption {
    /// This call stored the grant and its refresh token.
    Stored,
    /// The grant was stored before: the code is being replayed.
    Replayed,
    /// The session the code was issued from has ended (signed out, reset,
    /// disabled): nothing is stored.
    SessionEnded,
}

impl Store {
    /// Stores the grant of a redeemed code and its first refresh token, if the
    /// session it came from still exists and the grant is not stored yet. Of
    /// many concurrent redemptions of one code exactly one sees `Stored` (the
    /// grant's primary key decides). A session past its lifetime or idle limit
    /// counts as ended. PostgreSQL takes a key-share lock on the session row,
    /// so a concurrent end of that session either waits for this grant (and
    /// then revokes it) or is seen to have ended it; SQLite's one writer
    /// orders the two anyway.
    pub async fn store_redeemed_grant(
        &self,
        grant: &NewGrant<'_>,
        refresh: FirstRefresh<'_>,
    ) -> Result<Redemption, Error> {
        let (lock, store) = match self.backend {
            Backend::Sqlite => ("", "where changes() = 1"),
            Backend::Postgres => (" for key share", "from stored"),
        };
        let insert = format!(
            "insert into grants ({GRANT_INSERT_COLUMNS}) \
             select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $13 \
             where exists (select 1 from sessions where sid = $4 \
             and expires_at > $10 and last_seen_at + idle_secs > $10{lock}) \
             on conflict (id) do nothing returning id"
        );
        let refresh_insert = format!(
            "insert into refresh_tokens (token_hash, grant_id, expires_at, created_at) \
             select $11, $1, $12, $10 {store}"
        );
        let sql = match self.backend {
            // Two statements in one call; `changes()` is what the first changed.
            Backend::Sqlite => format!("{insert}; {refresh_insert}"),
            Backend::Postgres => format!(
                "with stored as ({insert}), refresh as ({refresh_insert}) select id from stored"
            ),
        };
        // Every row, so that the second statement runs to its end.
        let stored: Vec<(String,)> = sqlx::query_as(&sql)
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
            .bind(refresh.token_hash)
            .bind(refresh.expires_at)
            .bind(grant.dpop_jkt)
            .fetch_all(&mut *self.write().await?)
            .await?;
        if !stored.is_empty() {
            return Ok(Redemption::Stored);
        }
        Ok(match self.grant(grant.id).await? {
            Some(_) => Redemption::Replayed,
            None => Redemption::SessionEnded,
        })
    }
}
