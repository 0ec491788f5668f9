//! The `remembered_devices` table: browsers that gave a user's second factor
//! with "remember this device" ticked, by the hash of their cookie's secret.

use super::{Error, Store};

/// A remembered browser, as its user and the console list it.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct RememberedDevice {
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub last_ip: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

/// A device to remember.
pub struct NewDevice<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub secret_hash: &'a str,
    pub label: &'a str,
    pub ip: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

const DEVICE_COLUMNS: &str = "id, user_id, label, last_ip, created_at, last_used_at, expires_at";

impl Store {
    pub async fn remember_device(&self, device: NewDevice<'_>) -> Result<(), Error> {
        sqlx::query(
            "insert into remembered_devices \
             (id, user_id, secret_hash, label, last_ip, created_at, last_used_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(device.id)
        .bind(device.user_id)
        .bind(device.secret_hash)
        .bind(device.label)
        .bind(device.ip)
        .bind(device.now)
        .bind(device.expires_at)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// The live device of `user_id` whose secret hashes to `secret_hash`
    /// (another user's device is none of theirs).
    pub async fn remembered_device(
        &self,
        secret_hash: &str,
        user_id: &str,
        now: i64,
    ) -> Result<Option<RememberedDevice>, Error> {
        let sql = format!(
            "select {DEVICE_COLUMNS} from remembered_devices \
             where secret_hash = $1 and user_id = $2 and expires_at > $3"
        );
        Ok(sqlx::query_as(&sql)
            .bind(secret_hash)
            .bind(user_id)
            .bind(now)
            .fetch_optional(&mut *self.read().await?)
            .await?)
    }

    /// Notes a sign-in with the device.
    pub async fn touch_device(&self, id: &str, ip: Option<&str>, now: i64) -> Result<(), Error> {
        sqlx::query("update remembered_devices set last_used_at = $1, last_ip = $2 where id = $3")
            .bind(now)
            .bind(ip)
            .bind(id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }

    /// The user's live devices, the most recently used first.
    pub async fn remembered_devices_of(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<RememberedDevice>, Error> {
        let sql = format!(
            "select {DEVICE_COLUMNS} from remembered_devices \
             where user_id = $1 and expires_at > $2 order by last_used_at desc, id"
        );
        Ok(sqlx::query_as(&sql)
            .bind(user_id)
            .bind(now)
            .fetch_all(&mut *self.read().await?)
            .await?)
    }

    /// Forgets one device of `user_id`; whether there was one.
    pub async fn forget_device(&self, user_id: &str, id: &str) -> Result<bool, Error> {
        let done = sqlx::query("delete from remembered_devices where id = $1 and user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets every device of `user_id`; how many there were.
    pub async fn forget_devices_of(&self, user_id: &str) -> Result<u64, Error> {
        let done = sqlx::query("delete from remembered_devices where user_id = $1")
            .bind(user_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(done.rows_affected())
    }

    /// Sets how many days account `id` remembers devices (0: off).
    pub async fn set_remember_device_days(&self, id: &str, days: i64) -> Result<(), Error> {
        sqlx::query("update accounts set remember_device_days = $1 where id = $2")
            .bind(days)
            .bind(id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }
}
