//! The `sessions` table: one row per signed-in browser, keyed by the hash of
//! the cookie's id (the id itself is never stored).

use super::{Error, Store};
use crate::auth::acr::Acr;

#[derive(Clone, Debug)]
pub struct Session {
    pub sid: String,
    pub user_id: String,
    pub auth_time: i64,
    pub acr: Acr,
    pub amr: Vec<String>,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// When the user last re-entered their password in this session.
    pub reauthenticated_at: Option<i64>,
}

/// A session as its owner sees it in their list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionListing {
    pub sid: String,
    pub acr: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub sid: &'a str,
    pub user_id: &'a str,
    pub auth_time: i64,
    pub acr: Acr,
    pub amr: &'a [String],
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub expires_at: i64,
    /// Ends the session after this long without use.
    pub idle_secs: i64,
    pub reauthenticated_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    sid: String,
    user_id: String,
    auth_time: i64,
    acr: String,
    amr: String,
    last_seen_at: i64,
    expires_at: i64,
    reauthenticated_at: Option<i64>,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Self {
        Session {
            sid: row.sid,
            user_id: row.user_id,
            auth_time: row.auth_time,
            acr: Acr::stored(&row.acr),
            amr: row
                .amr
                .split(' ')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            reauthenticated_at: row.reauthenticated_at,
        }
    }
}

/// The live session whose `$key` is `$1` at time `$2`: neither expired nor
/// idle past its limit, of a user who is not disabled.
macro_rules! live_session_where {
    ($key:literal) => {
        concat!(
            "select s.sid, s.user_id, s.auth_time, s.acr, s.amr, s.last_seen_at, s.expires_at, ",
            "s.reauthenticated_at from sessions s join users u on u.id = s.user_id where ",
            $key,
            " = $1 and s.expires_at > $2 and s.last_seen_at + s.idle_secs > $2 ",
            "and u.is_disabled = 0"
        )
    };
}

impl Store {
    pub async fn create_session(&self, session: NewSession<'_>) -> Result<(), Error> {
        sqlx::query(
            "insert into sessions (id_hash, sid, user_id, auth_time, acr, amr, ip, user_agent, \
             created_at, last_seen_at, expires_at, reauthenticated_at, idle_secs, idle_until) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $4, $4, $9, $10, $11, $4 + $11)",
        )
        .bind(session.id_hash)
        .bind(session.sid)
        .bind(session.user_id)
        .bind(session.auth_time)
        .bind(session.acr.as_str())
        .bind(session.amr.join(" "))
        .bind(session.ip)
        .bind(session.user_agent)
        .bind(session.expires_at)
        .bind(session.reauthenticated_at)
        .bind(session.idle_secs)
        .execute(&mut *self.write().await?)
        .await?;
        sqlx::query("update users set last_sign_in_at = $1 where id = $2")
            .bind(session.auth_time)
            .bind(session.user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// The live session whose cookie id hashes to `id_hash`, if it has neither
    /// expired nor been idle for longer than its limit, and its user is not disabled.
    pub async fn live_session(&self, id_hash: &str, now: i64) -> Result<Option<Session>, Error> {
        let row: Option<SessionRow> = sqlx::query_as(live_session_where!("s.id_hash"))
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(Session::from))
    }

    /// The live session `sid` (as `live_session` decides liveness).
    pub async fn live_session_by_sid(&self, sid: &str, now: i64) -> Result<Option<Session>, Error> {
        let row: Option<SessionRow> = sqlx::query_as(live_session_where!("s.sid"))
            .bind(sid)
            .bind(now)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(Session::from))
    }

    pub async fn touch_session(&self, sid: &str, now: i64) -> Result<(), Error> {
        sqlx::query(
            "update sessions set last_seen_at = $1, idle_until = $1 + idle_secs where sid = $2",
        )
        .bind(now)
        .bind(sid)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// The `sid` of the session a cookie id belongs to, live or not.
    pub async fn sid_of_session(&self, id_hash: &str) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as("select sid from sessions where id_hash = $1")
            .bind(id_hash)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(|(sid,)| sid))
    }

    pub async fn mark_reauthenticated(&self, sid: &str, now: i64) -> Result<(), Error> {
        sqlx::query("update sessions set reauthenticated_at = $1 where sid = $2")
            .bind(now)
            .bind(sid)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// The sids of a user's live sessions.
    pub async fn session_sids_of_user(&self, user_id: &str) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> = sqlx::query_as("select sid from sessions where user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(rows.into_iter().map(|(sid,)| sid).collect())
    }

    /// Ends every session of a user but `keep_sid` as `end_session` does
    /// (back-channel logouts queued, grants revoked); returns how many ended.
    pub async fn end_sessions_of_user(
        &self,
        user_id: &str,
        keep_sid: Option<&str>,
        now: i64,
    ) -> Result<u64, Error> {
        let mut ended = 0;
        for sid in self.session_sids_of_user(user_id).await? {
            if Some(sid.as_str()) != keep_sid {
                self.end_session(&sid, now).await?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Raises a session after a second step: new cookie-id hash, new level and
    /// methods, a new `auth_time`; the `sid` stays. A session past its
    /// lifetime or idle limit has ended and is not raised.
    pub async fn raise_session(
        &self,
        sid: &str,
        new_id_hash: &str,
        acr: Acr,
        amr: &[String],
        now: i64,
    ) -> Result<Option<Session>, Error> {
        let row: Option<SessionRow> = sqlx::query_as(
            "update sessions set id_hash = $1, acr = $2, amr = $3, auth_time = $4, last_seen_at = $4, \
             idle_until = $4 + idle_secs where sid = $5 and expires_at > $4 and last_seen_at + idle_secs > $4 \
             returning sid, user_id, auth_time, acr, amr, last_seen_at, expires_at, reauthenticated_at",
        )
        .bind(new_id_hash)
        .bind(acr.as_str())
        .bind(amr.join(" "))
        .bind(now)
        .bind(sid)
        .fetch_optional(&mut *self.write().await?)
        .await?;
        Ok(row.map(Session::from))
    }

    /// A user's live sessions, most recently seen first.
    pub async fn sessions_of_user(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<SessionListing>, Error> {
        let rows = sqlx::query_as(
            "select sid, acr, ip, user_agent, created_at, last_seen_at from sessions \
             where user_id = $1 and expires_at > $2 and last_seen_at + idle_secs > $2 \
             order by last_seen_at desc, sid",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows)
    }

    /// The owner of session `sid`, if it exists.
    pub async fn session_owner(&self, sid: &str) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as("select user_id from sessions where sid = $1")
            .bind(sid)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(|(user_id,)| user_id))
    }
}
