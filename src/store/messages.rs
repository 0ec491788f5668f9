//! The `outbound_messages` table (email and SMS waiting to be sent, with
//! their attempts) and `contact_codes` (the one live code per user and
//! purpose that such a message carries).

use super::{Error, Store};

/// A message to queue; its body is already sealed.
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub user_id: Option<&'a str>,
    /// `email` or `sms`.
    pub channel: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_sealed: &'a str,
    pub now: i64,
}

/// A queued message claimed for sending.
#[derive(Debug, sqlx::FromRow)]
pub struct OutboundMessage {
    pub id: String,
    pub user_id: Option<String>,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body_sealed: String,
    pub attempts: i64,
}

/// How the last message to a user fared, for their pages.
#[derive(Debug, sqlx::FromRow)]
pub struct MessageStatus {
    pub channel: String,
    pub sent_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub attempts: i64,
}

impl Store {
    pub async fn queue_message(&self, message: NewMessage<'_>) -> Result<(), Error> {
        sqlx::query(
            "insert into outbound_messages \
             (id, user_id, channel, recipient, subject, body_sealed, next_attempt_at, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(message.id)
        .bind(message.user_id)
        .bind(message.channel)
        .bind(message.recipient)
        .bind(message.subject)
        .bind(message.body_sealed)
        .bind(message.now)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Claims one due message for `lease_secs` (so that another node does
    /// not send it meanwhile).
    pub async fn claim_message(
        &self,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<OutboundMessage>, Error> {
        let row: Option<OutboundMessage> = sqlx::query_as(
            "update outbound_messages set lease_until = $2 \
             where id = (select id from outbound_messages \
                         where sent_at is null and failed_at is null and next_attempt_at <= $1 \
                         and (lease_until is null or lease_until <= $1) \
                         order by next_attempt_at, id limit 1) \
             and (lease_until is null or lease_until <= $1) \
             returning id, user_id, channel, recipient, subject, body_sealed, attempts",
        )
        .bind(now)
        .bind(now + lease_secs)
        .fetch_optional(&mut *self.write().await?)
        .await?;
        Ok(row)
    }

    pub async fn message_sent(&self, id: &str, now: i64) -> Result<(), Error> {
        sqlx::query(
            "update outbound_messages set sent_at = $1, lease_until = null, \
             attempts = attempts + 1 where id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `retry_at`, or given up.
    pub async fn message_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "update outbound_messages set attempts = attempts + 1, lease_until = null, \
             last_error = $1, next_attempt_at = coalesce($2, next_attempt_at), \
             failed_at = case when $2 is null then $3 else null end where id = $4",
        )
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    /// The latest message to the user on `channel`, if any.
    pub async fn last_message(
        &self,
        user_id: &str,
        channel: &str,
    ) -> Result<Option<MessageStatus>, Error> {
        let row: Option<MessageStatus> = sqlx::query_as(
            "select channel, sent_at, failed_at, attempts from outbound_messages \
             where user_id = $1 and channel = $2 order by created_at desc, id desc limit 1",
        )
        .bind(user_id)
        .bind(channel)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row)
    }

    /// Sets the live code of `user_id` for `purpose`, replacing one sent
    /// no later than `replaces_before` (or expired); false when a newer one
    /// stands.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_contact_code(
        &self,
        user_id: &str,
        purpose: &str,
        target: &str,
        code_tag: &str,
        expires_at: i64,
        now: i64,
        replaces_before: i64,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "insert into contact_codes (user_id, purpose, target, code_tag, expires_at, sent_at) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (user_id, purpose) do update set target = $3, code_tag = $4, \
             expires_at = $5, sent_at = $6 \
             where contact_codes.sent_at <= $7 or contact_codes.expires_at <= $6",
        )
        .bind(user_id)
        .bind(purpose)
        .bind(target)
        .bind(code_tag)
        .bind(expires_at)
        .bind(now)
        .bind(replaces_before)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many messages the user was sent since `since`.
    pub async fn messages_since(&self, user_id: &str, since: i64) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as(
            "select count(*) from outbound_messages where user_id = $1 and created_at > $2",
        )
        .bind(user_id)
        .bind(since)
        .fetch_one(&mut *self.read().await?)
        .await?;
        Ok(count)
    }

    /// When the live code of `user_id` for `purpose` was sent, and to where.
    pub async fn contact_code_sent(
        &self,
        user_id: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Option<(String, i64)>, Error> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "select target, sent_at from contact_codes \
             where user_id = $1 and purpose = $2 and expires_at > $3",
        )
        .bind(user_id)
        .bind(purpose)
        .bind(now)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row)
    }

    /// Uses the code, once: the target it was sent to, when the tag matches
    /// a live code of this purpose.
    pub async fn take_contact_code(
        &self,
        user_id: &str,
        purpose: &str,
        code_tag: &str,
        now: i64,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "delete from contact_codes where user_id = $1 and purpose = $2 and code_tag = $3 \
             and expires_at > $4 returning target",
        )
        .bind(user_id)
        .bind(purpose)
        .bind(code_tag)
        .bind(now)
        .fetch_optional(&mut *self.write().await?)
        .await?;
        Ok(row.map(|(target,)| target))
    }
}
