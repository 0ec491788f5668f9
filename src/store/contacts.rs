//! The console's view of an account's members: who they are and what protects them.

use sqlx::Connection;

use super::member_search::{merge, search_key, stream_filter, Stream};
use super::seek::{Paged, Seek};
use super::{Error, Store};

pub use super::member_search::ContactKey;

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
