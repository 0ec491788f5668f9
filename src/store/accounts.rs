//! The `accounts` table: tenants and their second-factor policy.

use super::{flag, Error, Store};

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub require_mfa: bool,
    pub factors: Vec<String>,
    pub created_at: i64,
}

pub struct NewAccount<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub require_mfa: bool,
    pub factors: &'a [String],
    pub now: i64,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    name: String,
    require_mfa: i64,
    factors: String,
    created_at: i64,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Self {
        Account {
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
        }
    }
}

pub(super) async fn insert_account<'e, E>(db: E, account: &NewAccount<'_>) -> Result<(), Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
            "insert into accounts (id, name, require_mfa, factors, created_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(account.id)
        .bind(account.name)
        .bind(flag(account.require_mfa))
        .bind(account.factors.join(","))
        .bind(account.now)
        .execute(db)
        .await
        .map_err(|e| Error::duplicate_as(e, "an account with that name"))?;
    Ok(())
}

impl Store {
    pub async fn create_account(&self, account: NewAccount<'_>) -> Result<(), Error> {
        insert_account(&self.pool, &account).await
    }

    pub async fn account_by_name(&self, name: &str) -> Result<Option<Account>, Error> {
        let row: Option<AccountRow> = sqlx::query_as(
            "select id, name, require_mfa, factors, created_at from accounts where name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Account::from))
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>, Error> {
        let rows: Vec<AccountRow> = sqlx::query_as(
            "select id, name, require_mfa, factors, created_at from accounts order by name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Account::from).collect())
    }

    pub async fn account_by_id(&self, id: &str) -> Result<Option<Account>, Error> {
        let row: Option<AccountRow> = sqlx::query_as(
            "select id, name, require_mfa, factors, created_at from accounts where id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Account::from))
    }

    /// Changes an account's policies; `None` leaves a setting as it is.
    pub async fn update_account_policy(
        &self,
        name: &str,
        require_mfa: Option<bool>,
        factors: Option<&[String]>,
    ) -> Result<(), Error> {
        let done = sqlx::query(
            "update accounts set require_mfa = coalesce($1, require_mfa), \
             factors = coalesce($2, factors) where name = $3",
        )
        .bind(require_mfa.map(flag))
        .bind(factors.map(|f| f.join(",")))
        .bind(name)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("account"));
        }
        Ok(())
    }
}
