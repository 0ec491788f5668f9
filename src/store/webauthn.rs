//! The `webauthn_credentials` and `webauthn_challenges` tables: security keys
//! and passkeys with their signature counters, and the ceremonies under way.

use super::{Error, Store};
use sqlx::Connection;

/// A registered security key or passkey.
#[derive(Clone, Debug)]
pub struct WebauthnCredential {
    pub id: String,
    pub user_id: String,
    /// The authenticator's credential id, base64url.
    pub credential_id: String,
    /// `security_key` or `passkey`.
    pub kind: String,
    pub name: String,
    /// webauthn-rs's serialised credential (public key and flags).
    pub credential: String,
    pub counter: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: String,
    user_id: String,
    credential_id: String,
    kind: String,
    name: String,
    credential: String,
    counter: i64,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl From<CredentialRow> for WebauthnCredential {
    fn from(row: CredentialRow) -> Self {
        WebauthnCredential {
            id: row.id,
            user_id: row.user_id,
            credential_id: row.credential_id,
            kind: row.kind,
            name: row.name,
            credential: row.credential,
            counter: row.counter,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

const COLUMNS: &str =
    "id, user_id, credential_id, kind, name, credential, counter, created_at, last_used_at";

/// A ceremony to store until its answer comes back.
pub struct NewChallenge<'a> {
    pub id_hash: &'a str,
    /// What the ceremony is for: `register`, `second_factor` or `passkey_sign_in`.
    pub purpose: &'a str,
    /// What must present the answer: a session, a pending sign-in, or a browser.
    pub binding: &'a str,
    pub user_id: Option<&'a str>,
    pub state: &'a str,
    pub detail: &'a str,
    pub expires_at: i64,
}

/// A ceremony taken back (and so used up).
#[derive(Debug)]
pub struct TakenChallenge {
    pub user_id: Option<String>,
    pub state: String,
    pub detail: String,
}

impl Store {
    /// The user's keys, oldest first.
    pub async fn webauthn_credentials(
        &self,
        user_id: &str,
    ) -> Result<Vec<WebauthnCredential>, Error> {
        let sql = format!(
            "select {COLUMNS} from webauthn_credentials where user_id = $1 order by created_at, id"
        );
        let rows: Vec<CredentialRow> = sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(rows.into_iter().map(WebauthnCredential::from).collect())
    }

    /// The key with this authenticator credential id, whoever it belongs to.
    pub async fn webauthn_credential_by_credential_id(
        &self,
        credential_id: &str,
    ) -> Result<Option<WebauthnCredential>, Error> {
        let sql = format!("select {COLUMNS} from webauthn_credentials where credential_id = $1");
        let row: Option<CredentialRow> = sqlx::query_as(&sql)
            .bind(credential_id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        Ok(row.map(WebauthnCredential::from))
    }

    /// Stores a new key; a credential id registered before is a duplicate.
    pub async fn add_webauthn_credential(&self, cred: &WebauthnCredential) -> Result<(), Error> {
        let sql = format!(
            "insert into webauthn_credentials ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        let result = sqlx::query(&sql)
            .bind(&cred.id)
            .bind(&cred.user_id)
            .bind(&cred.credential_id)
            .bind(&cred.kind)
            .bind(&cred.name)
            .bind(&cred.credential)
            .bind(cred.counter)
            .bind(cred.created_at)
            .bind(cred.last_used_at)
            .execute(&mut *self.write().await?)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(Error::Duplicate("security key"))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Records a use. The counter only moves forward: false when another use
    /// already reached `counter` (a cloned authenticator, or a race).
    pub async fn use_webauthn_credential(
        &self,
        id: &str,
        counter: i64,
        credential: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let updated = sqlx::query(
            "update webauthn_credentials set counter = $1, credential = $2, last_used_at = $3 \
             where id = $4 and (counter < $1 or (counter = 0 and $1 = 0))",
        )
        .bind(counter)
        .bind(credential)
        .bind(now)
        .bind(id)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Removes one of the user's keys, and the backup codes with the last
    /// second factor, in one transaction (a factor added meanwhile keeps
    /// them); false when the key was not theirs or is gone.
    pub async fn remove_webauthn_credential(&self, user_id: &str, id: &str) -> Result<bool, Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        let removed =
            sqlx::query("delete from webauthn_credentials where id = $1 and user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        if removed.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(super::totp_factors::BACKUP_CODES_WITHOUT_FACTOR)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a ceremony in place of any earlier one for the same purpose and binding.
    pub async fn put_webauthn_challenge(&self, challenge: NewChallenge<'_>) -> Result<(), Error> {
        let mut conn = self.write().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("delete from webauthn_challenges where purpose = $1 and binding = $2")
            .bind(challenge.purpose)
            .bind(challenge.binding)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into webauthn_challenges \
             (id_hash, purpose, binding, user_id, state, detail, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(challenge.id_hash)
        .bind(challenge.purpose)
        .bind(challenge.binding)
        .bind(challenge.user_id)
        .bind(challenge.state)
        .bind(challenge.detail)
        .bind(challenge.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes a live ceremony for this purpose and binding, once: a second
    /// answer to the same challenge finds nothing.
    pub async fn take_webauthn_challenge(
        &self,
        id_hash: &str,
        purpose: &str,
        binding: &str,
        now: i64,
    ) -> Result<Option<TakenChallenge>, Error> {
        let row: Option<(Option<String>, String, String, i64)> = sqlx::query_as(
            "delete from webauthn_challenges where id_hash = $1 and purpose = $2 and binding = $3 \
             returning user_id, state, detail, expires_at",
        )
        .bind(id_hash)
        .bind(purpose)
        .bind(binding)
        .fetch_optional(&mut *self.write().await?)
        .await?;
        Ok(row.filter(|(_, _, _, expires_at)| *expires_at > now).map(
            |(user_id, state, detail, _)| TakenChallenge {
                user_id,
                state,
                detail,
            },
        ))
    }
}
