//! The `accounts` table: tenants and their second-factor policy.

use super::{flag, Error, Store};
use crate::auth::factor_kind::FactorKind;
use sqlx::Connection;

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub require_mfa: bool,
    pub factors: Vec<String>,
    pub created_at: i64,
    pub settings: TenantSettings,
}

/// What an account's administrators set; `None` means the provider's setting.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TenantSettings {
    /// When two-factor authentication last became required.
    pub mfa_required_at: Option<i64>,
    /// Days after `mfa_required_at` during which members may still sign in without a factor (0: none).
    pub mfa_grace_days: i64,
    /// Sign-ins a member may still make without a factor once it is required (0: none).
    pub mfa_grace_sign_ins: i64,
    pub session_idle_secs: Option<i64>,
    pub session_lifetime_secs: Option<i64>,
    pub mfa_failure_limit: Option<i64>,
    pub mfa_lockout_secs: Option<i64>,
    /// Members are asked to add a verified recovery phone.
    pub require_recovery_phone: bool,
    /// An email code counts for `aal2` (else it is a second step at `aal1`).
    pub email_codes_aal2: bool,
    /// Days a browser that gave the second factor may sign in with the
    /// password alone, when its user ticked the box (0: off; at most 90).
    pub remember_device_days: i64,
}

impl Default for TenantSettings {
    /// A new account's settings: the provider's limits, no grace, and email
    /// codes counting for `aal2` (as the column's default).
    fn default() -> Self {
        TenantSettings {
            mfa_required_at: None,
            mfa_grace_days: 0,
            mfa_grace_sign_ins: 0,
            session_idle_secs: None,
            session_lifetime_secs: None,
            mfa_failure_limit: None,
            mfa_lockout_secs: None,
            require_recovery_phone: false,
            email_codes_aal2: true,
            remember_device_days: 0,
        }
    }
}

pub struct NewTenant<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub require_mfa: bool,
    pub factors: &'a [String],
    pub now: i64,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: String,
    name: String,
    require_mfa: i64,
    factors: String,
    created_at: i64,
    mfa_required_at: Option<i64>,
    mfa_grace_days: i64,
    mfa_grace_sign_ins: i64,
    session_idle_secs: Option<i64>,
    session_lifetime_secs: Option<i64>,
    mfa_failure_limit: Option<i64>,
    mfa_lockout_secs: Option<i64>,
    require_recovery_phone: i64,
    email_codes_aal2: i64,
    remember_device_days: i64,
}

const ACCOUNT_COLUMNS: &str = "id, name, require_mfa, factors, created_at, mfa_required_at, \
     mfa_grace_days, mfa_grace_sign_ins, session_idle_secs, session_lifetime_secs, \
     mfa_failure_limit, mfa_lockout_secs, require_recovery_phone, email_codes_aal2, \
     remember_device_days";

impl Tenant {
    /// Whether the account lets its members use `kind`.
    pub fn allows(&self, kind: FactorKind) -> bool {
        self.factors.iter().any(|f| f == kind.as_str())
    }

    /// Whether it allows security keys or passkeys.
    pub fn allows_keys(&self) -> bool {
        self.factors
            .iter()
            .any(|f| FactorKind::parse(f).is_some_and(FactorKind::is_key))
    }
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            id: row.id,
            name: row.name,
            require_mfa: row.require_mfa != 0,
            factors: row
                .factors
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
            created_at: row.created_at,
            settings: TenantSettings {
                mfa_required_at: row.mfa_required_at,
                mfa_grace_days: row.mfa_grace_days,
                mfa_grace_sign_ins: row.mfa_grace_sign_ins,
                session_idle_secs: row.session_idle_secs,
                session_lifetime_secs: row.session_lifetime_secs,
                mfa_failure_limit: row.mfa_failure_limit,
                mfa_lockout_secs: row.mfa_lockout_secs,
                require_recovery_phone: row.require_recovery_phone != 0,
                email_codes_aal2: row.email_codes_aal2 != 0,
                remember_device_days: row.remember_device_days,
            },
        }
    }
}

pub(super) async fn insert_account<'e, E>(db: E, account: &NewTenant<'_>) -> Result<(), Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "insert into accounts (id, name, require_mfa, factors, created_at, mfa_required_at) \
             values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account.id)
    .bind(account.name)
    .bind(flag(account.require_mfa))
    .bind(account.factors.join(","))
    .bind(account.now)
    .bind(account.require_mfa.then_some(account.now))
    .execute(db)
    .await
    .map_err(|e| Error::duplicate_as(e, "an account with that name"))?;
    Ok(())
}

impl Store {
    pub async fn create_tenant(&self, account: NewTenant<'_>) -> Result<(), Error> {
        insert_account(&mut *self.write().await?, &account).await
    }

    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, Error> {
        let row: Option<TenantRow> = sqlx::query_as(&format!(
            "select {ACCOUNT_COLUMNS} from accounts where name = $1"
        ))
        .bind(name)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(Tenant::from))
    }

    /// Every account, by name.
    pub async fn tenants(&self) -> Result<Vec<Tenant>, Error> {
        let rows: Vec<TenantRow> = sqlx::query_as(&format!(
            "select {ACCOUNT_COLUMNS} from accounts order by name"
        ))
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows.into_iter().map(Tenant::from).collect())
    }

    pub async fn tenant_by_id(&self, id: &str) -> Result<Option<Tenant>, Error> {
        let row: Option<TenantRow> = sqlx::query_as(&format!(
            "select {ACCOUNT_COLUMNS} from accounts where id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(Tenant::from))
    }

    /// Changes an account's policies; `None` leaves a setting as it is.
    /// Requiring 2FA where it was not starts its grace period now.
    pub async fn update_tenant_policy(
        &self,
        name: &str,
        require_mfa: Option<bool>,
        factors: Option<&[String]>,
        now: i64,
    ) -> Result<(), Error> {
        let Some(account) = self.tenant_by_name(name).await? else {
            return Err(Error::NotFound("account"));
        };
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "update accounts set require_mfa = coalesce($1, require_mfa), \
             factors = coalesce($2, factors) where id = $3",
        )
        .bind(require_mfa.map(flag))
        .bind(factors.map(|f| f.join(",")))
        .bind(&account.id)
        .execute(&mut *tx)
        .await?;
        if require_mfa == Some(true) && !account.require_mfa {
            start_requiring_mfa(&mut tx, &account.id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Saves the console's settings of account `id`, with the factor kinds
    /// its members may use.
    pub async fn update_tenant_settings(
        &self,
        id: &str,
        require_mfa: bool,
        settings: &TenantSettings,
        factors: &[String],
        now: i64,
    ) -> Result<(), Error> {
        let Some(account) = self.tenant_by_id(id).await? else {
            return Err(Error::NotFound("account"));
        };
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "update accounts set require_mfa = $1, mfa_grace_days = $2, mfa_grace_sign_ins = $3, \
             session_idle_secs = $4, session_lifetime_secs = $5, mfa_failure_limit = $6, \
             mfa_lockout_secs = $7, require_recovery_phone = $8, factors = $9, \
             email_codes_aal2 = $10, remember_device_days = $11 where id = $12",
        )
        .bind(flag(require_mfa))
        .bind(settings.mfa_grace_days)
        .bind(settings.mfa_grace_sign_ins)
        .bind(settings.session_idle_secs)
        .bind(settings.session_lifetime_secs)
        .bind(settings.mfa_failure_limit)
        .bind(settings.mfa_lockout_secs)
        .bind(flag(settings.require_recovery_phone))
        .bind(factors.join(","))
        .bind(flag(settings.email_codes_aal2))
        .bind(settings.remember_device_days)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if require_mfa && !account.require_mfa {
            start_requiring_mfa(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether any account lets its members use the factor kind `factor`.
    pub async fn any_tenant_allows(&self, factor: FactorKind) -> Result<bool, Error> {
        let factor = factor.as_str();
        let rows: Vec<(String,)> = sqlx::query_as("select distinct factors from accounts")
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(rows
            .iter()
            .any(|(factors,)| factors.split(',').any(|f| f.trim() == factor)))
    }
}

/// 2FA becomes required now: the grace period starts, every member's count of
/// sign-ins without a factor starts again.
async fn start_requiring_mfa(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query("update accounts set mfa_required_at = $1 where id = $2")
        .bind(now)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("update users set sign_ins_without_factor = 0 where account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
