//! The device grant at the token endpoint (RFC 8628 §3.4, §3.5): a poll
//! with the device code answers `authorization_pending`, `slow_down` (and
//! the interval grows), `access_denied` or `expired_token` until the person
//! allowed it; then the tokens of that sign-in, once.

use super::{Issued, Issuer, TokenError};
use crate::auth::secret;
use crate::oidc::device::SLOW_DOWN_SECS;
use crate::store::{Client, DevicePoll, Grant};

impl Issuer<'_> {
    /// The `urn:ietf:params:oauth:grant-type:device_code` grant.
    pub async fn device_code(&self, client: &Client, code: &str) -> Result<Issued, TokenError> {
        if !client.device_grant {
            return Err(TokenError::UnauthorizedClient(
                "this client is not registered for the device grant",
            ));
        }
        let code_hash = secret::token_hash(code);
        let poll = self
            .store
            .poll_device(&code_hash, &client.client_id, SLOW_DOWN_SECS, self.now)
            .await?;
        let allowed = match poll {
            DevicePoll::Allowed(allowed) => allowed,
            DevicePoll::Pending => {
                return Err(TokenError::Device(
                    "authorization_pending",
                    "the user has not answered yet",
                ))
            }
            DevicePoll::TooSoon => {
                return Err(TokenError::Device(
                    "slow_down",
                    "polled too soon: wait 5 seconds more between polls",
                ))
            }
            DevicePoll::Denied => {
                return Err(TokenError::Device(
                    "access_denied",
                    "the user denied the request",
                ))
            }
            DevicePoll::Expired => {
                return Err(TokenError::Device(
                    "expired_token",
                    "the device code has expired: start again",
                ))
            }
            DevicePoll::Used => {
                return Err(TokenError::InvalidGrant("the device code was already used"))
            }
            DevicePoll::Unknown => {
                return Err(TokenError::InvalidGrant("the device code is not valid"))
            }
        };
        if client.consent
            && !self
                .consented(&allowed.user_id, client, &allowed.scope)
                .await?
        {
            return Err(TokenError::InvalidGrant(
                "the user's consent to this client was revoked",
            ));
        }
        let grant = Grant {
            id: secret::random_id(),
            client_id: allowed.client_id,
            user_id: allowed.user_id,
            sid: allowed.sid,
            scope: allowed.scope,
            nonce: None,
            auth_time: allowed.auth_time,
            acr: allowed.acr,
            amr: allowed.amr,
            revoked_at: None,
            dpop_jkt: self.jkt.clone().filter(|_| client.is_public()),
        };
        let issued = self.issue_new(client, &grant).await;
        if let Err(TokenError::Store(_) | TokenError::Signing(_)) = &issued {
            // Not the person's doing: the next poll tries again.
            if let Err(err) = self.store.restore_device(&code_hash).await {
                tracing::warn!(error = %err, "an allowed device authorization stays used");
            }
        }
        issued
    }
}
