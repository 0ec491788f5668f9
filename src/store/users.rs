//! The `users` table: members of accounts, with their password hash.

use super::{flag, Error, Store};

#[derive(Clone)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub is_operator: bool,
    pub is_disabled: bool,
    /// An operator reset the user's factors: enrol again at next sign-in.
    pub must_enroll: bool,
    /// Sign-ins without a factor since the account began to require one.
    pub sign_ins_without_factor: i64,
}

/// A user's second factors at a glance (`Store::factor_summary`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FactorSummary {
    /// The confirmed authenticator app.
    pub totp: Option<TotpInUse>,
    pub backup_codes_remaining: i64,
    pub backup_codes_last_used_at: Option<i64>,
    pub email_verified_at: Option<i64>,
    pub email_codes_on: bool,
    /// The verified recovery phone and when it was verified.
    pub phone: Option<(String, i64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TotpInUse {
    pub since: i64,
    pub last_used_at: Option<i64>,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
    pub is_operator: bool,
    pub now: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    account_id: String,
    username: String,
    email: String,
    password_hash: String,
    is_admin: i64,
    is_operator: i64,
    is_disabled: i64,
    must_enroll: i64,
    sign_ins_without_factor: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            account_id: row.account_id,
            username: row.username,
            email: row.email,
            password_hash: row.password_hash,
            is_admin: row.is_admin != 0,
            is_operator: row.is_operator != 0,
            is_disabled: row.is_disabled != 0,
            must_enroll: row.must_enroll != 0,
            sign_ins_without_factor: row.sign_ins_without_factor,
        }
    }
}

const USER_COLUMNS: &str =
    "id, account_id, username, email, password_hash, is_admin, is_operator, is_disabled, \
     must_enroll, sign_ins_without_factor";

/// Inserts a user and drops any outstanding setup link: once a user exists,
/// by whatever path, the link that creates the first administrator is spent.
pub(super) async fn insert_user(
    db: &mut sqlx::AnyConnection,
    user: &NewUser<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "insert into users (id, account_id, username, email, password_hash, is_admin, \
             is_operator, is_disabled, created_at, username_key, email_key) \
             values ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10)",
    )
    .bind(user.id)
    .bind(user.account_id)
    .bind(user.username)
    .bind(user.email)
    .bind(user.password_hash)
    .bind(flag(user.is_admin))
    .bind(flag(user.is_operator))
    .bind(user.now)
    .bind(super::member_search::search_key(user.username))
    .bind(super::member_search::search_key(user.email))
    .execute(&mut *db)
    .await
    .map_err(|e| Error::duplicate_as(e, "a user with that username"))?;
    sqlx::query("delete from setup_tokens").execute(db).await?;
    Ok(())
}

impl Store {
    pub async fn create_user(&self, user: NewUser<'_>) -> Result<(), Error> {
        insert_user(&mut *self.write().await?, &user).await
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>, Error> {
        let sql = format!("select {USER_COLUMNS} from users where username = $1");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(username)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(User::from))
    }

    /// The users whose email address is `email` (case folded), at most `limit`.
    pub async fn users_by_email(&self, email: &str, limit: i64) -> Result<Vec<User>, Error> {
        let sql = format!(
            "select {USER_COLUMNS} from users where lower(email) = lower($1) order by id limit $2"
        );
        let rows: Vec<UserRow> = sqlx::query_as(&sql)
            .bind(email)
            .bind(limit)
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, Error> {
        let sql = format!("select {USER_COLUMNS} from users where id = $1");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(User::from))
    }

    /// What the user has set up that may be a second factor, in one read:
    /// (an authenticator app or a security key, email codes on, a verified
    /// phone). Whether the phone counts is the account's decision.
    pub async fn factor_presence(&self, user_id: &str) -> Result<(bool, bool, bool), Error> {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "select \
               cast(case when exists (select 1 from totp_factors t \
                                      where t.user_id = u.id and t.confirmed_at is not null) \
                           or exists (select 1 from webauthn_credentials w where w.user_id = u.id) \
                         then 1 else 0 end as bigint), \
               u.email_codes_on, \
               cast(case when u.phone is not null and u.phone_verified_at is not null \
                         then 1 else 0 end as bigint) \
             from users u where u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map_or((false, false, false), |(strong, email, phone)| {
            (strong != 0, email != 0, phone != 0)
        }))
    }

    /// What a user's second factors look like, read in one query: the
    /// authenticator app, the backup codes, email codes and the recovery
    /// phone (security keys are rows of their own: `webauthn_credentials`).
    pub async fn factor_summary(&self, user_id: &str) -> Result<FactorSummary, Error> {
        type Row = (
            Option<i64>,
            Option<i64>,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
            Option<String>,
            Option<i64>,
        );
        let row: Option<Row> = sqlx::query_as(
            "select \
               (select t.confirmed_at from totp_factors t \
                 where t.user_id = u.id and t.confirmed_at is not null \
                 order by t.confirmed_at desc limit 1), \
               (select t.last_used_at from totp_factors t \
                 where t.user_id = u.id and t.confirmed_at is not null \
                 order by t.confirmed_at desc limit 1), \
               (select count(*) from backup_codes b where b.user_id = u.id and b.used_at is null), \
               (select max(b.used_at) from backup_codes b where b.user_id = u.id), \
               u.email_verified_at, u.email_codes_on, u.phone, u.phone_verified_at \
             from users u where u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let Some((
            totp_since,
            totp_last_used,
            remaining,
            backup_last_used,
            email_at,
            on,
            phone,
            phone_at,
        )) = row
        else {
            return Ok(FactorSummary::default());
        };
        Ok(FactorSummary {
            totp: totp_since.map(|since| TotpInUse {
                since,
                last_used_at: totp_last_used,
            }),
            backup_codes_remaining: remaining,
            backup_codes_last_used_at: backup_last_used,
            email_verified_at: email_at,
            email_codes_on: on != 0,
            phone: phone.zip(phone_at),
        })
    }

    /// Replaces the user's password hash, when it is still `old_hash` (a
    /// rehash never overwrites a password changed meanwhile).
    pub async fn replace_password_hash(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, Error> {
        let done =
            sqlx::query("update users set password_hash = $1 where id = $2 and password_hash = $3")
                .bind(new_hash)
                .bind(user_id)
                .bind(old_hash)
                .execute(&mut *self.write().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn count_users(&self) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as("select count(*) from users")
            .fetch_one(&mut *self.read().await?)
            .await?;
        Ok(count)
    }

    pub async fn count_sign_in_without_factor(&self, user_id: &str) -> Result<(), Error> {
        sqlx::query(
            "update users set sign_ins_without_factor = sign_ins_without_factor + 1 where id = $1",
        )
        .bind(user_id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    pub async fn set_disabled(&self, user_id: &str, disabled: bool) -> Result<(), Error> {
        sqlx::query("update users set is_disabled = $1 where id = $2")
            .bind(flag(disabled))
            .bind(user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    pub async fn set_admin(&self, user_id: &str, admin: bool) -> Result<(), Error> {
        sqlx::query("update users set is_admin = $1 where id = $2")
            .bind(flag(admin))
            .bind(user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    pub async fn set_must_enroll(&self, user_id: &str, must_enroll: bool) -> Result<(), Error> {
        sqlx::query("update users set must_enroll = $1 where id = $2")
            .bind(flag(must_enroll))
            .bind(user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    pub async fn tenant_of(&self, user: &User) -> Result<super::Tenant, Error> {
        self.tenant_by_id(&user.account_id)
            .await?
            .ok_or(Error::NotFound("account of a user"))
    }
}
