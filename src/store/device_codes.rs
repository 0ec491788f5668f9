//! The `device_codes` table: device authorizations (RFC 8628), each with
//! its device code (hashed), the user code shown to the person, and, once
//! they answer on `/device`, who allowed it and with which sign-in.

use super::{Error, Store};

/// A device authorization to store.
pub struct NewDeviceCode<'a> {
    pub code_hash: &'a str,
    pub user_code: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub interval_secs: i64,
    pub now: i64,
    pub expires_at: i64,
}

/// A device authorization waiting for its user's answer.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: i64,
}

/// The sign-in that allowed a device.
pub struct DeviceSignIn<'a> {
    pub user_id: &'a str,
    pub sid: &'a str,
    pub auth_time: i64,
    pub acr: &'a str,
    pub amr: &'a [String],
}

/// What a device's poll found (RFC 8628 §3.5).
#[derive(Debug)]
pub enum DevicePoll {
    /// No such device code for this client.
    Unknown,
    Expired,
    /// Polled before its interval passed: the interval is now longer.
    TooSoon,
    Pending,
    Denied,
    /// Redeemed before.
    Used,
    /// Allowed, and taken by this poll: the grant to issue.
    Allowed(AllowedDevice),
}

/// An allowed device authorization, taken once.
#[derive(Debug)]
pub struct AllowedDevice {
    pub client_id: String,
    pub scope: String,
    pub user_id: String,
    pub sid: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct PollRow {
    status: String,
    expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct AllowedRow {
    client_id: String,
    scope: String,
    user_id: Option<String>,
    sid: Option<String>,
    auth_time: Option<i64>,
    acr: Option<String>,
    amr: Option<String>,
}

impl Store {
    /// Stores a new device authorization; a user code in use already is a
    /// `Duplicate` (the caller draws another).
    pub async fn create_device_code(&self, code: NewDeviceCode<'_>) -> Result<(), Error> {
        sqlx::query(
            "insert into device_codes (code_hash, user_code, client_id, scope, interval_secs, \
             created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(code.code_hash)
        .bind(code.user_code)
        .bind(code.client_id)
        .bind(code.scope)
        .bind(code.interval_secs)
        .bind(code.now)
        .bind(code.expires_at)
        .execute(&mut *self.write().await?)
        .await
        .map_err(|e| Error::duplicate_as(e, "a device authorization with that user code"))?;
        Ok(())
    }

    /// The device authorization of a user code, while it waits for an answer.
    pub async fn pending_device(
        &self,
        user_code: &str,
        now: i64,
    ) -> Result<Option<PendingDevice>, Error> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "select client_id, scope, expires_at from device_codes \
             where user_code = $1 and status = 'pending' and expires_at > $2",
        )
        .bind(user_code)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(|(client_id, scope, expires_at)| PendingDevice {
            user_code: user_code.to_string(),
            client_id,
            scope,
            expires_at,
        }))
    }

    /// Records the user's answer to a waiting device authorization: allowed
    /// with `sign_in`, or denied (`None`). `false` when it no longer waits.
    pub async fn answer_device(
        &self,
        user_code: &str,
        sign_in: Option<DeviceSignIn<'_>>,
        now: i64,
    ) -> Result<bool, Error> {
        let done = match sign_in {
            Some(s) => {
                sqlx::query(
                    "update device_codes set status = 'allowed', user_id = $1, sid = $2, \
                     auth_time = $3, acr = $4, amr = $5 \
                     where user_code = $6 and status = 'pending' and expires_at > $7",
                )
                .bind(s.user_id)
                .bind(s.sid)
                .bind(s.auth_time)
                .bind(s.acr)
                .bind(s.amr.join(" "))
                .bind(user_code)
                .bind(now)
                .execute(&mut *self.write().await?)
                .await?
            }
            None => {
                sqlx::query(
                    "update device_codes set status = 'denied' \
                     where user_code = $1 and status = 'pending' and expires_at > $2",
                )
                .bind(user_code)
                .bind(now)
                .execute(&mut *self.write().await?)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    /// Puts back an allowed authorization whose tokens could not be issued
    /// (the store or the signing failed), so that the next poll gets them.
    pub async fn restore_device(&self, code_hash: &str) -> Result<(), Error> {
        sqlx::query(
            "update device_codes set status = 'allowed' where code_hash = $1 and status = 'redeemed'",
        )
        .bind(code_hash)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// A device's poll with its code: recorded (a poll before the interval
    /// passed lengthens it by `slow_down_secs`), and an allowed
    /// authorization taken, so that of concurrent polls one gets it.
    pub async fn poll_device(
        &self,
        code_hash: &str,
        client_id: &str,
        slow_down_secs: i64,
        now: i64,
    ) -> Result<DevicePoll, Error> {
        let row: Option<PollRow> = sqlx::query_as(
            "select status, expires_at from device_codes \
             where code_hash = $1 and client_id = $2",
        )
        .bind(code_hash)
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        let Some(row) = row else {
            return Ok(DevicePoll::Unknown);
        };
        if row.status == "redeemed" {
            return Ok(DevicePoll::Used);
        }
        if row.expires_at <= now {
            return Ok(DevicePoll::Expired);
        }
        // One conditional write decides, so that concurrent polls cannot
        // all pass the interval.
        let on_time = sqlx::query(
            "update device_codes set last_polled_at = $1 where code_hash = $2 \
             and (last_polled_at is null or last_polled_at + interval_secs <= $1)",
        )
        .bind(now)
        .bind(code_hash)
        .execute(&mut *self.write().await?)
        .await?
        .rows_affected()
            == 1;
        if !on_time {
            sqlx::query(
                "update device_codes set last_polled_at = $1, interval_secs = interval_secs + $2 \
                 where code_hash = $3",
            )
            .bind(now)
            .bind(slow_down_secs)
            .bind(code_hash)
            .execute(&mut *self.write().await?)
            .await?;
            return Ok(DevicePoll::TooSoon);
        }
        match row.status.as_str() {
            "pending" => return Ok(DevicePoll::Pending),
            "denied" => return Ok(DevicePoll::Denied),
            _ => {}
        }
        let taken: Option<AllowedRow> = sqlx::query_as(
            "update device_codes set status = 'redeemed' \
             where code_hash = $1 and status = 'allowed' \
             returning client_id, scope, user_id, sid, auth_time, acr, amr",
        )
        .bind(code_hash)
        .fetch_optional(&mut *self.write().await?)
        .await?;
        let Some(taken) = taken else {
            return Ok(DevicePoll::Used);
        };
        let corrupt =
            || Error::Corrupt("an allowed device authorization without its sign-in".into());
        Ok(DevicePoll::Allowed(AllowedDevice {
            client_id: taken.client_id,
            scope: taken.scope,
            user_id: taken.user_id.ok_or_else(corrupt)?,
            sid: taken.sid.ok_or_else(corrupt)?,
            auth_time: taken.auth_time.ok_or_else(corrupt)?,
            acr: taken.acr.ok_or_else(corrupt)?,
            amr: taken
                .amr
                .unwrap_or_default()
                .split(' ')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        }))
    }
}
