//! The `audit_events` table: who did what to whom, when and from where.

use super::{Error, Store};

pub struct NewAuditEvent<'a> {
    pub kind: &'a str,
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
            "insert into audit_events (id, at, kind, user_id, actor_id, ip, detail) values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(crate::auth::secret::random_id())
        .bind(event.now)
        .bind(event.kind)
        .bind(event.user_id)
        .bind(event.actor_id)
        .bind(event.ip)
        .bind(event.detail.to_string())
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
}
