//! The console's view of an account's members: who they are and what protects them.

use sqlx::Connection;

use super::seek::{Paged, Seek};
use super::{Backend, Error, Store};

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
    /// The key that placed the member in the listing: their username or
    /// email address, folded (see `search_key`).
    pub listed_key: String,
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
    pub listed_key: String,
}

/// Where a member sits in a listing: the key that placed them there, then
/// their id (written `id:key` where a link carries it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactKey {
    pub key: String,
    pub id: String,
}

impl Contact {
    /// Where the member sits in the listing, for merging its two orders.
    fn listed(&self) -> (&str, &str) {
        (&self.listed_key, &self.id)
    }
}

impl FoundMember {
    fn listed(&self) -> (&str, &str) {
        (&self.listed_key, &self.id)
    }
}

impl ContactKey {
    pub fn of(contact: &Contact) -> ContactKey {
        ContactKey {
            key: contact.listed_key.clone(),
            id: contact.id.clone(),
        }
    }

    /// The place a link carried, if it reads as one.
    pub fn parse(text: &str) -> Option<ContactKey> {
        let (id, key) = text.split_once(':')?;
        (!id.is_empty()).then(|| ContactKey {
            key: key.to_string(),
            id: id.to_string(),
        })
    }
}

impl std::fmt::Display for ContactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.id, self.key)
    }
}

/// Which members a listing holds.
pub struct ContactQuery<'a> {
    pub account_id: &'a str,
    /// The start of a username or email address, any case; empty for everyone.
    pub search: &'a str,
    /// Only members with no second factor.
    pub without_factor: bool,
    /// Where the page starts.
    pub from: Seek<ContactKey>,
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

/// The orders a listing reads, each one range of its own index read in
/// order, so that a page costs the same however many members match and
/// however deep it is: members by username, and for a search also the
/// members whose email address matches where their username does not. Most
/// email addresses start with their member's username (`alice`,
/// `alice@example.com`): for those, an email that matches where the username
/// does not means the username is a shorter part of the search, a handful of
/// exact lookups (`Extending`); the rest have their own index (`Emails`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Usernames,
    Emails,
    Extending,
}

/// The partial index of the email addresses that do not start with their
/// member's username, as the migration writes it.
const OWN_EMAIL: &str = "substr(u.email_key, 1, length(u.username_key)) <> u.username_key";

impl Stream {
    /// The streams of a search: usernames alone when there is none.
    fn of(search: &str) -> &'static [Stream] {
        match search_key(search).chars().count() {
            0 => &[Stream::Usernames],
            1 => &[Stream::Usernames, Stream::Emails],
            _ => &[Stream::Usernames, Stream::Emails, Stream::Extending],
        }
    }

    fn column(self) -> &'static str {
        match self {
            Stream::Usernames => "username_key",
            Stream::Emails | Stream::Extending => "email_key",
        }
    }
}

/// The `from users u where ...` of one stream of a listing (an account's
/// members, or everyone's), its `order by`, and its binds in placeholder order.
fn stream_filter(
    stream: Stream,
    backend: Backend,
    account: Option<&str>,
    search: &str,
    without_factor: bool,
    from: &Seek<ContactKey>,
) -> (String, String, Vec<String>) {
    let column = format!("u.{}", stream.column());
    // Ids in byte order on both databases, as the indexes hold them.
    let id_column = match backend {
        Backend::Sqlite => "u.id",
        Backend::Postgres => "u.id collate \"C\"",
    };
    let mut binds: Vec<String> = Vec::new();
    let mut next = |bind: String| {
        binds.push(bind);
        format!("${}", binds.len())
    };
    let mut sql = String::from("from users u where ");
    if let Some(account) = account {
        sql.push_str(&format!("u.account_id = {}", next(account.to_string())));
    } else {
        sql.push_str("1 = 1");
    }
    let key = search_key(search);
    if !key.is_empty() {
        let (low, high) = prefix_range(search);
        let (low, high) = (next(low), next(high));
        sql.push_str(&format!(" and {column} >= {low} and {column} < {high}"));
        match stream {
            Stream::Usernames => {}
            Stream::Emails => sql.push_str(&format!(
                " and {OWN_EMAIL} and not (u.username_key >= {low} and u.username_key < {high})"
            )),
            Stream::Extending => {
                // The usernames that are a shorter start of the search.
                let shorter: Vec<String> = key
                    .char_indices()
                    .skip(1)
                    .map(|(end, _)| next(key[..end].to_string()))
                    .collect();
                sql.push_str(&format!(
                    " and u.username_key in ({}) and not ({OWN_EMAIL})",
                    shorter.join(", ")
                ));
            }
        }
    }
    if without_factor {
        sql.push_str(" and u.second_factors = 0");
    }
    let backwards = from.backwards();
    if let Some(ContactKey { key, id }) = from.key() {
        let (op, edge) = if backwards { ('<', "<=") } else { ('>', ">=") };
        let (key, id) = (next(key.clone()), next(id.clone()));
        sql.push_str(&format!(
            " and {column} {edge} {key} and ({column} {op} {key} or {id_column} {op} {id})"
        ));
    }
    let direction = if backwards { "desc" } else { "asc" };
    let order = format!("order by {column} {direction}, {id_column} {direction}");
    (sql, order, binds)
}

/// The first `n` of the streams' rows in the listing's direction (each
/// stream read no more than `n` rows, so this sorts a few dozen).
fn merge<T>(
    streams: Vec<Vec<T>>,
    n: usize,
    key: fn(&T) -> (&str, &str),
    backwards: bool,
) -> Vec<T> {
    let mut rows: Vec<T> = streams.into_iter().flatten().collect();
    rows.sort_by(|a, b| {
        let order = key(a).cmp(&key(b));
        if backwards {
            order.reverse()
        } else {
            order
        }
    });
    rows.truncate(n);
    rows
}

impl Store {
    /// Members of any account whose username or email starts with `search`
    /// (any case), by the key that matched.
    pub async fn find_members(&self, search: &str, limit: i64) -> Result<Vec<FoundMember>, Error> {
        let mut found: Vec<Vec<FoundMember>> = Vec::new();
        for &stream in Stream::of(search) {
            let (filter, order, binds) =
                stream_filter(stream, self.backend, None, search, false, &Seek::First);
            let sql = format!(
                "select u.id, u.username, u.email, u.account_id, a.name as account_name, \
                 u.{column} as listed_key {filter_with_join} {order} limit {limit}",
                column = stream.column(),
                filter_with_join = filter.replacen(
                    "from users u where ",
                    "from users u join accounts a on a.id = u.account_id where ",
                    1
                ),
                limit = limit.max(0)
            );
            let mut select = sqlx::query_as(&sql);
            for bind in binds {
                select = select.bind(bind);
            }
            found.push(select.fetch_all(&mut *self.read().await?).await?);
        }
        let size = limit.max(0) as usize;
        Ok(merge(found, size, FoundMember::listed, false))
    }

    /// One member as the console lists them.
    pub async fn contact(&self, user_id: &str) -> Result<Option<Contact>, Error> {
        let sql = format!(
            "select {CONTACT_COLUMNS}, coalesce(u.username_key, '') as listed_key \
             from users u where u.id = $1"
        );
        Ok(sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(&mut *self.read().await?)
            .await?)
    }

    /// One page of an account's members from where the query seeks: by
    /// username, and for a search by the username or email that matched.
    pub async fn contacts(&self, query: &ContactQuery<'_>) -> Result<Paged<Contact>, Error> {
        let size = query.limit.max(0);
        let backwards = query.from.backwards();
        let mut read: Vec<Vec<Contact>> = Vec::new();
        for &stream in Stream::of(query.search) {
            let (filter, order, binds) = stream_filter(
                stream,
                self.backend,
                Some(query.account_id),
                query.search,
                query.without_factor,
                &query.from,
            );
            let sql = format!(
                "select {CONTACT_COLUMNS}, u.{} as listed_key {filter} {order} limit {}",
                stream.column(),
                size + 1
            );
            let mut select = sqlx::query_as(&sql);
            for bind in binds {
                select = select.bind(bind);
            }
            read.push(select.fetch_all(&mut *self.read().await?).await?);
        }
        let mut rows = merge(read, size as usize + 1, Contact::listed, backwards);
        if backwards {
            rows.reverse();
        }
        Ok(Paged::of(rows, size as usize, &query.from))
    }

    /// How many members a search matches, counting no further than `cap`
    /// (the seek is ignored).
    pub async fn count_contacts(&self, query: &ContactQuery<'_>, cap: i64) -> Result<i64, Error> {
        let cap = cap.max(0);
        let mut total = 0;
        for &stream in Stream::of(query.search) {
            let (filter, _, binds) = stream_filter(
                stream,
                self.backend,
                Some(query.account_id),
                query.search,
                query.without_factor,
                &Seek::First,
            );
            let sql = format!(
                "select count(*) from (select 1 as one {filter} limit {}) capped",
                cap - total
            );
            let mut count = sqlx::query_as(&sql);
            for bind in binds {
                count = count.bind(bind);
            }
            let (matched,): (i64,) = count.fetch_one(&mut *self.read().await?).await?;
            total += matched;
            if total >= cap {
                break;
            }
        }
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
    use super::*;

    fn key(key: &str, id: &str) -> ContactKey {
        ContactKey {
            key: key.to_string(),
            id: id.to_string(),
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
    fn keys_read_back_or_not_at_all() {
        let written = key("ada@example.com", "user-ada");
        assert_eq!(written.to_string(), "user-ada:ada@example.com");
        assert_eq!(ContactKey::parse(&written.to_string()), Some(written));
        assert_eq!(ContactKey::parse("user-x:"), Some(key("", "user-x")));
        for bad in ["", "alice", ":alice"] {
            assert_eq!(ContactKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_stream_reads_one_range_of_its_index() {
        let (sql, order, binds) = stream_filter(
            Stream::Usernames,
            Backend::Sqlite,
            Some("acct"),
            "",
            false,
            &Seek::First,
        );
        assert_eq!(sql, "from users u where u.account_id = $1");
        assert_eq!(order, "order by u.username_key asc, u.id asc");
        assert_eq!(binds, ["acct".to_string()]);

        let after = Seek::After(key("mia", "user-mia"));
        let (sql, _, binds) = stream_filter(
            Stream::Usernames,
            Backend::Sqlite,
            Some("acct"),
            " ",
            true,
            &after,
        );
        assert_eq!(
            sql,
            "from users u where u.account_id = $1 and u.second_factors = 0 \
             and u.username_key >= $2 and (u.username_key > $2 or u.id > $3)"
        );
        assert_eq!(binds[1..], ["mia".to_string(), "user-mia".to_string()]);

        let before = Seek::Before(key("bob@x", "user-bob"));
        let (sql, order, binds) = stream_filter(
            Stream::Emails,
            Backend::Postgres,
            None,
            "Al",
            false,
            &before,
        );
        assert_eq!(
            sql,
            format!(
                "from users u where 1 = 1 and u.email_key >= $1 and u.email_key < $2 \
                 and {OWN_EMAIL} and not (u.username_key >= $1 and u.username_key < $2) \
                 and u.email_key <= $3 and (u.email_key < $3 or u.id collate \"C\" < $4)"
            )
        );
        assert_eq!(order, "order by u.email_key desc, u.id collate \"C\" desc");
        assert_eq!(binds[0], "al");
    }

    #[test]
    fn the_streams_merge_in_the_listings_order() {
        fn pair<'a>(p: &(&'a str, &'a str)) -> (&'a str, &'a str) {
            (p.0, p.1)
        }
        let usernames = vec![("alice", "1"), ("ana", "3")];
        let emails = vec![("al@x", "2"), ("az@x", "4")];
        assert_eq!(
            merge(vec![usernames.clone(), emails.clone()], 3, pair, false),
            vec![("al@x", "2"), ("alice", "1"), ("ana", "3")]
        );
        assert_eq!(
            merge(vec![usernames, emails, vec![("ana", "2")]], 3, pair, true),
            vec![("az@x", "4"), ("ana", "3"), ("ana", "2")]
        );
        assert_eq!(
            merge(Vec::<Vec<(&str, &str)>>::new(), 5, pair, false),
            vec![]
        );
    }

    #[test]
    fn a_username_shorter_than_the_search_is_looked_up_exactly() {
        assert_eq!(Stream::of(" "), &[Stream::Usernames]);
        assert_eq!(Stream::of("a"), &[Stream::Usernames, Stream::Emails]);
        let (sql, _, binds) = stream_filter(
            Stream::Extending,
            Backend::Sqlite,
            Some("acct"),
            "Al@",
            false,
            &Seek::First,
        );
        assert!(
            sql.contains(" and u.username_key in ($4, $5) and not (substr("),
            "{sql}"
        );
        assert_eq!(binds[3..], ["a".to_string(), "al".to_string()]);
        let (_, _, binds) = stream_filter(
            Stream::Extending,
            Backend::Sqlite,
            None,
            "éa",
            false,
            &Seek::First,
        );
        assert_eq!(binds[2..], ["é".to_string()], "by characters, not bytes");
    }
}
