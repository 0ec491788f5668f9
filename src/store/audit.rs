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

impl Store {
    pub async fn audit(&self, event: NewAuditEvent<'_>) -> Result<(), Error> {
        sqlx::query(
            "insert into audit_events (id, at, kind, user_id, actor_id, ip, detail, account_id) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(crate::auth::secret::random_id())
        .bind(event.now)
        .bind(event.kind)
        .bind(event.user_id)
        .bind(event.actor_id)
        .bind(event.ip)
        .bind(event.detail.to_string())
        .bind(event.account_id)
        .execute(&self.pool)
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
             order by at desc, id limit $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// One page of an account's events, newest first, of one kind and about
    /// one member when given.
    pub async fn audit_events_of_account(
        &self,
        account_id: &str,
        kind: Option<&str>,
        user_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEvent>, Error> {
        let rows = sqlx::query_as(
            "select at, kind, user_id, actor_id, ip, detail from audit_events \
             where account_id = $1 and ($2 = '' or kind = $2) and ($3 = '' or user_id = $3) \
             order by at desc, id limit $4 offset $5",
        )
        .bind(account_id)
        .bind(kind.unwrap_or(""))
        .bind(user_id.unwrap_or(""))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}
