//! The console's view of an account's members: who they are and what protects them.

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

/// Which members a listing holds.
pub struct ContactQuery<'a> {
    pub account_id: &'a str,
    /// Part of a username or email address; empty for everyone.
    pub search: &'a str,
    /// Only members with no second factor.
    pub without_factor: bool,
    pub limit: i64,
    pub offset: i64,
}

/// `text` as a `like` pattern that matches it anywhere, with `\` escaping
/// the pattern characters a search may contain.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

const WHERE: &str = "where u.account_id = $1 \
     and (lower(u.username) like $2 escape '\\' or lower(u.email) like $2 escape '\\') \
     and ($3 = 0 or (not exists (select 1 from totp_factors t \
          where t.user_id = u.id and t.confirmed_at is not null) \
          and not exists (select 1 from webauthn_credentials w where w.user_id = u.id)))";

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

impl Store {
    /// Members of any account whose username or email contains `search`, by username.
    pub async fn find_members(&self, search: &str, limit: i64) -> Result<Vec<FoundMember>, Error> {
        let rows = sqlx::query_as(
            "select u.id, u.username, u.email, u.account_id, a.name as account_name \
             from users u join accounts a on a.id = u.account_id \
             where lower(u.username) like $1 escape '\\' or lower(u.email) like $1 escape '\\' \
             order by u.username limit $2",
        )
        .bind(contains_pattern(search))
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

    /// One page of an account's members, by username, and how many match in all.
    pub async fn contacts(&self, query: &ContactQuery<'_>) -> Result<(Vec<Contact>, i64), Error> {
        let pattern = contains_pattern(query.search);
        let without = i64::from(query.without_factor);
        let sql = format!(
            "select {CONTACT_COLUMNS} from users u {WHERE} order by u.username limit $4 offset $5"
        );
        let rows = sqlx::query_as(&sql)
            .bind(query.account_id)
            .bind(&pattern)
            .bind(without)
            .bind(query.limit)
            .bind(query.offset)
            .fetch_all(&mut *self.read().await?)
            .await?;
        let (total,): (i64,) = sqlx::query_as(&format!("select count(*) from users u {WHERE}"))
            .bind(query.account_id)
            .bind(&pattern)
            .bind(without)
            .fetch_one(&mut *self.read().await?)
            .await?;
        Ok((rows, total))
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn searches_match_their_text_literally() {
        assert_eq!(contains_pattern("Mia"), "%mia%");
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
