//! The `audit_events` table: who did what to whom, when and from where.

use super::seek::{Paged, Seek};
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
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub username: Option<String>,
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

/// Where an event sits in the log: when, then its id (written `at.id`
/// where a link or an answer carries it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditKey {
    pub at: i64,
    pub id: String,
}

impl AuditKey {
    pub fn of(entry: &AuditEntry) -> AuditKey {
        AuditKey {
            at: entry.at,
            id: entry.id.clone(),
        }
    }

    /// The key a link or an answer carried, if it reads as one.
    pub fn parse(text: &str) -> Option<AuditKey> {
        let (at, id) = text.split_once('.')?;
        let at = at.parse().ok()?;
        (!id.is_empty()).then(|| AuditKey {
            at,
            id: id.to_string(),
        })
    }
}

impl std::fmt::Display for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.at, self.id)
    }
}

/// Which events a page of the log holds.
pub struct AuditQuery<'a> {
    /// The account's events, or for `None` the provider's own.
    pub account_id: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub user_id: Option<&'a str>,
    /// Where the page starts, newest first.
    pub from: Seek<AuditKey>,
    /// Events per page.
    pub limit: i64,
}

/// The `where` of a page of the log and its binds, each filter present only
/// when asked for so that each compares its column directly to its index.
fn log_filter(query: &AuditQuery<'_>) -> (String, Vec<Bind>) {
    let mut sql = String::from("where ");
    let mut binds = Vec::new();
    match (query.user_id, query.account_id) {
        // A member's events, by the member's own index: the account only
        // checked (the coalesce keeps SQLite on the member's index).
        (Some(user_id), account_id) => {
            let user = next(&mut binds, Bind::Text(user_id.to_string()));
            let account = next(&mut binds, Bind::Text(account_id.unwrap_or("").to_string()));
            sql.push_str(&format!(
                "e.user_id = {user} and coalesce(e.account_id, '') = {account}"
            ));
        }
        (None, Some(account_id)) => {
            let account = next(&mut binds, Bind::Text(account_id.to_string()));
            sql.push_str(&format!("e.account_id = {account}"));
        }
        (None, None) => sql.push_str("e.account_id is null"),
    }
    if let Some(kind) = query.kind.filter(|k| !k.is_empty()) {
        let kind = next(&mut binds, Bind::Text(kind.to_string()));
        sql.push_str(&format!(" and e.kind = {kind}"));
    }
    if let Some(AuditKey { at, id }) = query.from.key() {
        // Newest first: "after" is older.
        // The bound first, so that the index range starts there.
        let (op, edge) = if query.from.backwards() {
            ('>', ">=")
        } else {
            ('<', "<=")
        };
        let at_bind = next(&mut binds, Bind::Int(*at));
        let id_bind = next(&mut binds, Bind::Text(id.clone()));
        sql.push_str(&format!(
            " and e.at {edge} {at_bind} and (e.at {op} {at_bind} or e.id {op} {id_bind})"
        ));
    }
    (sql, binds)
}

#[derive(Debug, PartialEq)]
enum Bind {
    Text(String),
    Int(i64),
}

/// Adds a bind and names its placeholder.
fn next(binds: &mut Vec<Bind>, bind: Bind) -> String {
    binds.push(bind);
    format!("${}", binds.len())
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

    /// The console's audit log of an account (or the provider's own
    /// events): one page, newest first, with the usernames of the member and
    /// of who acted.
    pub async fn audit_log(&self, query: &AuditQuery<'_>) -> Result<Paged<AuditEntry>, Error> {
        let (filter, binds) = log_filter(query);
        let backwards = query.from.backwards();
        let order = if backwards { "asc" } else { "desc" };
        let size = query.limit.max(0);
        let sql = format!(
            "select e.id, e.at, e.kind, u.username, coalesce(a.username, e.actor_id) as actor, \
             e.ip, e.detail from audit_events e left join users u on u.id = e.user_id \
             left join users a on a.id = e.actor_id {filter} \
             order by e.at {order}, e.id {order} limit {}",
            size + 1
        );
        let mut select = sqlx::query_as(&sql);
        for bind in binds {
            select = match bind {
                Bind::Text(text) => select.bind(text),
                Bind::Int(number) => select.bind(number),
            };
        }
        let mut rows: Vec<AuditEntry> = select.fetch_all(&mut *self.read().await?).await?;
        if backwards {
            rows.reverse();
        }
        Ok(Paged::of(rows, size as usize, &query.from))
    }
}

#[cfg(test)]
mod tests {
    use super::{log_filter, AuditKey, AuditQuery, Bind, Seek};

    fn key(at: i64, id: &str) -> AuditKey {
        AuditKey {
            at,
            id: id.to_string(),
        }
    }

    #[test]
    fn keys_read_back_or_not_at_all() {
        let written = key(1_700_000_000, "0005f-ab.c");
        assert_eq!(written.to_string(), "1700000000.0005f-ab.c");
        assert_eq!(AuditKey::parse(&written.to_string()), Some(written));
        for bad in ["", "12", "x.y", "12.", ".abc", "1e3.abc"] {
            assert_eq!(AuditKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_filter_compares_its_own_column() {
        let mut query = AuditQuery {
            account_id: Some("acct"),
            kind: None,
            user_id: None,
            from: Seek::First,
            limit: 50,
        };
        assert_eq!(log_filter(&query).0, "where e.account_id = $1");
        query.kind = Some("signed_in");
        query.from = Seek::After(key(10, "x"));
        let (sql, binds) = log_filter(&query);
        assert_eq!(
            sql,
            "where e.account_id = $1 and e.kind = $2 and e.at <= $3 and (e.at < $3 or e.id < $4)"
        );
        assert_eq!(binds[2], Bind::Int(10));
        query.user_id = Some("user-mia");
        query.kind = Some("");
        query.from = Seek::Before(key(10, "x"));
        let (sql, binds) = log_filter(&query);
        assert!(sql.starts_with(
            "where e.user_id = $1 and coalesce(e.account_id, '') = $2 and e.at >= $3 and (e.at > $3"
        ));
        assert_eq!(binds.len(), 4);
        query.account_id = None;
        query.user_id = None;
        query.from = Seek::First;
        assert_eq!(
            log_filter(&query),
            ("where e.account_id is null".to_string(), vec![])
        );
    }
}
