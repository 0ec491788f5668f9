//! The `pending_logins` table: sign-ins between their password and their
//! second step, under a random cookie id of which only the hash is stored.

use super::{Error, Store};

#[derive(Clone, Debug)]
pub struct PendingLogin {
    pub user_id: String,
    pub stage: String,
    /// The parked authorization request to resume afterwards.
    pub request_id: Option<String>,
    /// Where to go afterwards when no request is parked (a local path).
    pub next_path: Option<String>,
    /// Set for a step-up: the session being raised to `aal2`.
    pub session_sid: Option<String>,
    pub created_at: i64,
}

pub struct NewPendingLogin<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a str,
    pub stage: &'a str,
    pub request_id: Option<&'a str>,
    pub next_path: Option<&'a str>,
    pub session_sid: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    user_id: String,
    stage: String,
    request_id: Option<String>,
    next_path: Option<String>,
    session_sid: Option<String>,
    created_at: i64,
}

impl Store {
    pub async fn create_pending_login(&self, login: NewPendingLogin<'_>) -> Result<(), Error> {
        sqlx::query(
            "insert into pending_logins (id_hash, user_id, stage, request_id, next_path, session_sid, \
             created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(login.id_hash)
        .bind(login.user_id)
        .bind(login.stage)
        .bind(login.request_id)
        .bind(login.next_path)
        .bind(login.session_sid)
        .bind(login.now)
        .bind(login.expires_at)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    pub async fn pending_login(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<PendingLogin>, Error> {
        let row: Option<PendingRow> = sqlx::query_as(
            "select user_id, stage, request_id, next_path, session_sid, created_at from pending_logins \
             where id_hash = $1 and expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(|r| PendingLogin {
            user_id: r.user_id,
            stage: r.stage,
            request_id: r.request_id,
            next_path: r.next_path,
            session_sid: r.session_sid,
            created_at: r.created_at,
        }))
    }

    /// Ends a pending sign-in; `true` for the one call that ended it.
    pub async fn take_pending_login(&self, id_hash: &str) -> Result<bool, Error> {
        let done = sqlx::query("delete from pending_logins where id_hash = $1")
            .bind(id_hash)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
