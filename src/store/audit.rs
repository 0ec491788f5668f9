//! The `audit_events` table: who did what to whom, when and from where.

use super::{Error, Store};

pub struct NewAuditEvent<'a> {
    pub kind: &'a str,
    /// The account the event belongs to (the subject's, or the one changed).
    pub account_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// Structured detail as JSON; never a secret.
    pub detail: serde_json::Value,
    pub now: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

/// An audit event as the console shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditEntry {
    pub at: i64,
    pub kind: String,
    pub username: Option<String>,
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

/// An event id that sorts by when it was written (microseconds, then random),
/// so that events of the same second list in the order they happened.
fn event_id() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{micros:016x}-{}", crate::auth::secret::random_id())
}

impl Store {
    pub async fn audit(&self, event: NewAuditEvent<'_>) -> Result<(), Error> {
        // Sign-ins, failures, locks, resets...: each kind is also a counter.
        metrics::counter!("gatehouse_events_total", "kind" => event.kind.to_string()).increment(1);
        sqlx::query(
            "insert into audit_events (id, at, kind, user_id, actor_id, ip, detail, account_id) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event_id())
        .bind(event.now)
        .bind(event.kind)
        .bind(event.user_id)
        .bind(event.actor_id)
        .bind(event.ip)
        .bind(event.detail.to_string())
        .bind(event.account_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// A user's events, newest first.
    pub async fn audit_events_for(
        &self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, Error> {
        let rows = sqlx::query_as(
            "select at, kind, user_id, actor_id, ip, detail from audit_events where user_id = $1 \
             order by at desc, id desc limit $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows)
    }

    /// The console's audit log of an account (or, for `None`, the provider's
    /// own events): one page, newest first, with the usernames of the member
    /// and of who acted.
    pub async fn audit_log(
        &self,
        account_id: Option<&str>,
        kind: Option<&str>,
        user_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEntry>, Error> {
        // The account's own index serves an account's log.
        let whose = match account_id {
            Some(_) => "e.account_id = $1",
            None => "e.account_id is null and $1 = ''",
        };
        let sql = format!(
            "select e.at, e.kind, u.username, coalesce(a.username, e.actor_id) as actor, e.ip, e.detail \
             from audit_events e left join users u on u.id = e.user_id \
             left join users a on a.id = e.actor_id \
             where {whose} and ($2 = '' or e.kind = $2) and ($3 = '' or e.user_id = $3) \
             order by e.at desc, e.id desc limit $4 offset $5"
        );
        let rows = sqlx::query_as(&sql)
            .bind(account_id.unwrap_or(""))
            .bind(kind.unwrap_or(""))
            .bind(user_id.unwrap_or(""))
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(rows)
    }
}
