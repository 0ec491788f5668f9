//! The console's view of an account's members: who they are and what protects them.

use sqlx::Connection;

use super::seek::{Paged, Seek};
use super::{Error, Store};

/// A member as the console lists them.
#[derive(Debug, sqlx::FromRow)]
pub struct Contact {
    pub id: String,
    pub username: String,
    pub email: String,
    pub is_admin: i64,
    pub is_disabled: i64,
    pub must_enroll: i64,
    pub last_sign_in_at: Option<i64>,
    /// Confirmed authenticator apps (0 or 1).
    pub totp: i64,
    pub totp_last_used_at: Option<i64>,
    pub backup_codes_left: i64,
    pub backup_code_last_used_at: Option<i64>,
    pub email_verified_at: Option<i64>,
    /// The recovery phone, when verified.
    pub phone: Option<String>,
    pub phone_verified_at: Option<i64>,
    /// Registered security keys and passkeys.
    pub keys: i64,
    pub key_last_used_at: Option<i64>,
    /// Until when the second step is locked after failures, if it ever was
    /// (the counter keyed `mfa:<user id>`, as `factors` keeps it).
    pub locked_until: Option<i64>,
}

const CONTACT_COLUMNS: &str =
    "u.id, u.username, u.email, u.is_admin, u.is_disabled, u.must_enroll, \
             u.last_sign_in_at, u.email_verified_at, u.phone, u.phone_verified_at, \
             (select count(*) from totp_factors t where t.user_id = u.id \
                and t.confirmed_at is not null) as totp, \
             (select max(t.last_used_at) from totp_factors t where t.user_id = u.id \
                and t.confirmed_at is not null) as totp_last_used_at, \
             (select count(*) from backup_codes b where b.user_id = u.id \
                and b.used_at is null) as backup_codes_left, \
             (select max(b.used_at) from backup_codes b where b.user_id = u.id) \
                as backup_code_last_used_at, \
             (select count(*) from webauthn_credentials w where w.user_id = u.id) as keys, \
             (select max(w.last_used_at) from webauthn_credentials w where w.user_id = u.id) \
                as key_last_used_at, \
             (select f.locked_until from failure_counters f where f.key = 'mfa:' || u.id) \
                as locked_until";

/// A member found across accounts, with the account they belong to.
#[derive(Debug, sqlx::FromRow)]
pub struct FoundMember {
    pub id: String,
    pub username: String,
    pub email: String,
    pub account_id: String,
    pub account_name: String,
}

/// Which members a listing holds.
pub struct ContactQuery<'a> {
    pub account_id: &'a str,
    /// The start of a username or email address, any case; empty for everyone.
    pub search: &'a str,
    /// Only members with no second factor.
    pub without_factor: bool,
    /// Where the page starts, by username.
    pub from: Seek<&'a str>,
    /// Members per page.
    pub limit: i64,
}

/// An account's members and those without a second factor, as kept with the
/// account (never counted per view).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberCounts {
    pub members: i64,
    pub without_factor: i64,
}

/// What a search compares: the text trimmed and case folded, the same way
/// for every database (stored beside each username and email address).
pub(super) fn search_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// The keys that start with `search`: from its key (inclusive) to its key
/// followed by the last character (exclusive), compared byte by byte.
fn prefix_range(search: &str) -> (String, String) {
    let low = search_key(search);
    let mut high = low.clone();
    high.push(char::MAX);
    (low, high)
}

/// The `from ... where` of a listing, with its binds after the account id ($1).
fn listing_filter(query: &ContactQuery<'_>) -> (String, Vec<String>) {
    let mut sql = String::from("from users u where u.account_id = $1");
    let mut binds = Vec::new();
    if !search_key(query.search).is_empty() {
        let (low, high) = prefix_range(query.search);
        sql.push_str(
            " and ((u.username_key >= $2 and u.username_key < $3) \
             or (u.email_key >= $2 and u.email_key < $3))",
        );
        binds.push(low);
        binds.push(high);
    }
    if query.without_factor {
        sql.push_str(" and u.second_factors = 0");
    }
    if let Some(username) = query.from.key() {
        let op = if query.from.backwards() { '<' } else { '>' };
        sql.push_str(&format!(" and u.username {op} ${}", binds.len() + 2));
        binds.push(username.to_string());
    }
    (sql, binds)
}

impl Store {
    /// Members of any account whose username or email starts with `search`
    /// (any case), by username.
    pub async fn find_members(&self, search: &str, limit: i64) -> Result<Vec<FoundMember>, Error> {
        let (low, high) = prefix_range(search);
        let rows = sqlx::query_as(
            "select u.id, u.username, u.email, u.account_id, a.name as account_name \
             from users u join accounts a on a.id = u.account_id \
             where (u.username_key >= $1 and u.username_key < $2) \
                or (u.email_key >= $1 and u.email_key < $2) \
             order by u.username limit $3",
        )
        .bind(low)
        .bind(high)
        .bind(limit)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows)
    }

    /// One member as the console lists them.
    pub async fn contact(&self, user_id: &str) -> Result<Option<Contact>, Error> {
        let sql = format!("select {CONTACT_COLUMNS} from users u where u.id = $1");
        Ok(sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(&mut *self.read().await?)
            .await?)
    }

    /// One page of an account's members, by username, from where the query seeks.
    pub async fn contacts(&self, query: &ContactQuery<'_>) -> Result<Paged<Contact>, Error> {
        let (filter, binds) = listing_filter(query);
        let backwards = query.from.backwards();
        let order = if backwards { "desc" } else { "asc" };
        let size = query.limit.max(0);
        let sql = format!(
            "select {CONTACT_COLUMNS} {filter} order by u.username {order} limit {}",
            size + 1
        );
        let mut select = sqlx::query_as(&sql).bind(query.account_id);
        for bind in binds {
            select = select.bind(bind);
        }
        let mut rows: Vec<Contact> = select.fetch_all(&mut *self.read().await?).await?;
        if backwards {
            rows.reverse();
        }
        Ok(Paged::of(rows, size as usize, &query.from))
    }

    /// How many members a search matches, counting no further than `cap`
    /// (the seek is ignored).
    pub async fn count_contacts(&self, query: &ContactQuery<'_>, cap: i64) -> Result<i64, Error> {
        let everyone = ContactQuery {
            from: Seek::First,
            ..*query
        };
        let (filter, binds) = listing_filter(&everyone);
        let cap = cap.max(0);
        let sql = format!("select count(*) from (select 1 as one {filter} limit {cap}) capped");
        let mut count = sqlx::query_as(&sql).bind(query.account_id);
        for bind in binds {
            count = count.bind(bind);
        }
        let (total,): (i64,) = count.fetch_one(&mut *self.read().await?).await?;
        Ok(total)
    }

    /// An account's members and those without a second factor.
    pub async fn member_counts(&self, account_id: &str) -> Result<MemberCounts, Error> {
        let counts: Option<(i64, i64)> =
            sqlx::query_as("select members, members_without_factor from accounts where id = $1")
                .bind(account_id)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(
            counts.map_or_else(MemberCounts::default, |(members, without_factor)| {
                MemberCounts {
                    members,
                    without_factor,
                }
            }),
        )
    }

    /// Fills the search keys of members stored before there were any, a
    /// batch per transaction so that no write waits long behind it.
    pub(super) async fn key_members_for_search(&self) -> Result<(), Error> {
        loop {
            let mut conn = self.write().await?;
            let mut tx = conn.begin().await?;
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "select id, username, email from users where username_key is null limit 500",
            )
            .fetch_all(&mut *tx)
            .await?;
            for (id, username, email) in &rows {
                sqlx::query("update users set username_key = $1, email_key = $2 where id = $3")
                    .bind(search_key(username))
                    .bind(search_key(email))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            if rows.len() < 500 {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{listing_filter, prefix_range, search_key, ContactQuery, Seek};

    fn query<'a>(search: &'a str, without_factor: bool, from: Seek<&'a str>) -> ContactQuery<'a> {
        ContactQuery {
            account_id: "acct",
            search,
            without_factor,
            from,
            limit: 50,
        }
    }

    #[test]
    fn search_keys_fold_case_and_trim() {
        assert_eq!(search_key("  Mia.Ng@Example.COM "), "mia.ng@example.com");
        assert_eq!(search_key("ÉLODIE"), "élodie");
        assert_eq!(search_key(""), "");
    }

    #[test]
    fn a_prefix_is_a_range_of_keys() {
        let (low, high) = prefix_range("Mi");
        assert_eq!(low, "mi");
        assert!(high.as_str() > "mia" && high.as_str() > "mi\u{ffff}");
        assert!(high.as_str() < "mj" && low.as_str() <= "mi");
        // Pattern characters mean themselves.
        assert_eq!(prefix_range("a_%").0, "a_%");
    }

    #[test]
    fn a_listing_binds_only_what_it_filters_on() {
        let (sql, binds) = listing_filter(&query("", false, Seek::First));
        assert_eq!(sql, "from users u where u.account_id = $1");
        assert!(binds.is_empty());

        let (sql, binds) = listing_filter(&query(" ", true, Seek::After("mia")));
        assert_eq!(
            sql,
            "from users u where u.account_id = $1 and u.second_factors = 0 and u.username > $2"
        );
        assert_eq!(binds, vec!["mia".to_string()]);

        let (sql, binds) = listing_filter(&query("Al", false, Seek::Before("bob")));
        assert!(sql.contains("u.username_key >= $2 and u.username_key < $3"));
        assert!(sql.ends_with(" and u.username < $4"));
        assert_eq!(binds.len(), 3);
        assert_eq!((binds[0].as_str(), binds[2].as_str()), ("al", "bob"));
    }
}
