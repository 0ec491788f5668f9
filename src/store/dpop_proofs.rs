//! The `dpop_proofs` table: the `jti` of each DPoP proof accepted, per key,
//! until the proof is too old to be accepted anyway (RFC 9449 §11.1).

use super::{Error, Store};

impl Store {
    /// Records the `jti` of a proof by the key `jkt` until `expires_at`;
    /// `false` when it was recorded before (a replay, on this node or
    /// another).
    pub async fn use_dpop_proof(
        &self,
        jkt: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "insert into dpop_proofs (jkt, jti, expires_at) values ($1, $2, $3) \
             on conflict (jkt, jti) do nothing",
        )
        .bind(jkt)
        .bind(jti)
        .bind(expires_at)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
