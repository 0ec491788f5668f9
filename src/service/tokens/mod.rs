//! Token issuance, in one place: a grant (from a redeemed code or a refresh
//! token) becomes its claims, and the claims become signed tokens. The token
//! endpoint (`http::oidc::token`) parses the request and calls one of
//! [`Issuer::redeem_code`], [`Issuer::refresh`],
//! [`Issuer::client_credentials`] or [`Issuer::device_code`] (in `device`).

mod device;

use serde::Serialize;

use crate::app::AppState;
use crate::auth::secret;
use crate::auth::vault::Vault;
use crate::config::Config;
use crate::oidc::auth_code::{CodeGrant, Refusal};
use crate::oidc::claims::{
    self, AccessTokenClaims, Authentication, ClientAccessTokenClaims, Confirmation, Subject,
    ACCESS_TOKEN_TYP, ADMIN_API_PATH, ADMIN_SCOPE, ID_TOKEN_TYP,
};
use crate::oidc::keys::{Alg, KeyError, SigningKeys};
use crate::oidc::scope;
use crate::store::{
    self, Client, FirstRefresh, Grant, NewGrant, Redemption, RefreshRotation, Store,
};

/// Why no tokens were issued; the token endpoint answers each as its
/// RFC 6749 §5.2 error.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("invalid_scope: {0}")]
    InvalidScope(&'static str),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    /// RFC 8628 §3.5: a device's poll answered with this error code.
    #[error("{0}: {1}")]
    Device(&'static str, &'static str),
    #[error("signing: {0}")]
    Signing(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// What issuing takes: the settings, the store, the signing keys and the
/// vault that opens codes, at one "now".
pub struct Issuer<'a> {
    config: &'a Config,
    store: &'a Store,
    keys: &'a SigningKeys,
    vault: &'a Vault,
    now: i64,
    /// The DPoP key the tokens are bound to (its JWK thumbprint).
    jkt: Option<String>,
}

/// A refresh token stored beside its grant before it is handed out.
struct StoredRefresh {
    token: String,
    hash: String,
}

impl<'a> Issuer<'a> {
    pub fn new(app: &'a AppState) -> Issuer<'a> {
        Issuer {
            config: &app.config,
            store: &app.store,
            keys: &app.keys,
            vault: &app.vault,
            now: app.clock.now(),
            jkt: None,
        }
    }

    /// Binds the tokens issued to a DPoP key (RFC 9449 §5): the access
    /// token always, the refresh tokens of a public client's new grant too.
    /// The console's API takes Bearer tokens only: client-credentials tokens
    /// stay unbound, and say so with their `token_type`.
    pub fn bound_to(self, jkt: Option<String>) -> Issuer<'a> {
        Issuer { jkt, ..self }
    }

    /// RFC 6749 §4.4, for the console's API: a confidential client that an
    /// operator granted the `admin` scope gets a short-lived access token.
    pub fn client_credentials(
        &self,
        client: &Client,
        requested: Option<&str>,
    ) -> Result<Issued, TokenError> {
        if client.is_public() || client.admin_scope.is_none() {
            return Err(TokenError::UnauthorizedClient(
                "this client may not use the client_credentials grant",
            ));
        }
        if requested.is_some_and(|r| r.split(' ').any(|s| s != ADMIN_SCOPE)) {
            return Err(TokenError::InvalidScope(
                "only the admin scope can be granted",
            ));
        }
        let config = self.config;
        let claims = ClientAccessTokenClaims {
            iss: config.issuer().to_string(),
            sub: client.client_id.clone(),
            aud: format!("{}{ADMIN_API_PATH}", config.issuer()),
            client_id: client.client_id.clone(),
            exp: self.now + config.access_token_lifetime_secs,
            iat: self.now,
            jti: secret::random_id(),
            scope: ADMIN_SCOPE.to_string(),
        };
        Ok(Issued {
            access_token: self
                .keys
                .sign(config.access_token_alg, ACCESS_TOKEN_TYP, &claims)?,
            token_type: "Bearer",
            expires_in: config.access_token_lifetime_secs,
            id_token: None,
            refresh_token: None,
            scope: ADMIN_SCOPE.to_string(),
        })
    }

    /// The `authorization_code` grant: the code is opened and checked, its
    /// grant stored with a first refresh token in one write, and the tokens
    /// signed.
    pub async fn redeem_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Issued, TokenError> {
        let mut grant = self.open_code(client, code, redirect_uri, verifier).await?;
        // A confidential client authenticates each refresh; a public one's
        // refresh tokens are held to the key instead (RFC 9449 §5.0).
        if client.is_public() {
            grant.dpop_jkt = self.jkt.clone();
        }
        // A consent revoked since the code was issued takes the code with it.
        if client.consent && !self.consented(&grant.user_id, client, &grant.scope).await? {
            return Err(TokenError::InvalidGrant(
                "the user's consent to this client was revoked",
            ));
        }
        self.issue_new(client, &grant).await
    }

    /// Whether `user_id`'s recorded consent to `client` covers `scope`.
    async fn consented(
        &self,
        user_id: &str,
        client: &Client,
        scope: &str,
    ) -> Result<bool, TokenError> {
        let consent = self.store.consent(user_id, &client.client_id).await?;
        Ok(consent.is_some_and(|c| scope::is_subset(scope, &c.scope)))
    }

    /// Stores a new grant with its first refresh token, and signs its
    /// tokens. If signing fails, the stored refresh token is removed, never
    /// having been handed out.
    async fn issue_new(&self, client: &Client, grant: &Grant) -> Result<Issued, TokenError> {
        let refresh = self.store_grant(client, grant).await?;
        let hash = refresh.hash.clone();
        let issued = self
            .sign(
                client,
                grant,
                &grant.scope,
                grant.nonce.as_deref(),
                Some(refresh),
            )
            .await;
        if issued.is_err() {
            if let Err(err) = self.store.delete_refresh_token(&hash).await {
                tracing::warn!(error = %err, "an unused refresh token stays until it expires");
            }
        }
        issued
    }

    /// Opens a code and checks it against this use of it (client, redirect
    /// URI, PKCE verifier, expiry). RFC 6749 §4.1.2: a code used before
    /// revokes what it was exchanged for, whatever else is wrong with it.
    async fn open_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Grant, TokenError> {
        let code = CodeGrant::open(self.vault, code)
            .ok_or(TokenError::InvalidGrant("the code is not valid"))?;
        match code.check(&client.client_id, redirect_uri, verifier, self.now) {
            Ok(()) => Ok(grant_of(code)),
            Err(Refusal::OtherClient) => Err(TokenError::InvalidGrant(
                "the code was issued to another client",
            )),
            Err(_) if self.store.grant(&code.grant_id).await?.is_some() => {
                Err(self.replayed(client, &code.grant_id).await?)
            }
            Err(Refusal::Invalid(why)) => Err(TokenError::InvalidGrant(why)),
            Err(_) => Err(TokenError::InvalidGrant("the code has expired")),
        }
    }

    /// Stores a redeemed code's grant and its first refresh token in one
    /// write; a code redeemed before, or whose sign-in ended, is refused.
    async fn store_grant(
        &self,
        client: &Client,
        grant: &Grant,
    ) -> Result<StoredRefresh, TokenError> {
        let refresh = StoredRefresh::new();
        let first_refresh = FirstRefresh {
            token_hash: &refresh.hash,
            expires_at: self.now + self.config.refresh_token_lifetime_secs,
        };
        let new_grant = NewGrant {
            id: &grant.id,
            client_id: &grant.client_id,
            user_id: &grant.user_id,
            sid: &grant.sid,
            scope: &grant.scope,
            nonce: grant.nonce.as_deref(),
            auth_time: grant.auth_time,
            acr: &grant.acr,
            amr: &grant.amr,
            dpop_jkt: grant.dpop_jkt.as_deref(),
            now: self.now,
        };
        match self
            .store
            .store_redeemed_grant(&new_grant, first_refresh)
            .await?
        {
            Redemption::Stored => Ok(refresh),
            Redemption::Replayed => Err(self.replayed(client, &grant.id).await?),
            Redemption::SessionEnded => Err(TokenError::InvalidGrant(
                "the sign-in that issued the code has ended",
            )),
        }
    }

    /// A code came back after its redemption: what it was exchanged for is
    /// revoked.
    async fn replayed(&self, client: &Client, grant_id: &str) -> Result<TokenError, TokenError> {
        self.store.revoke_grant(grant_id, self.now).await?;
        tracing::warn!(client_id = %client.client_id, "authorization code replayed; grant revoked");
        Ok(TokenError::InvalidGrant("the code was already used"))
    }

    /// The `refresh_token` grant: the token is rotated (the next one stored
    /// with the old one's use, in one transaction) and new tokens signed. A
    /// rotated token that comes back revokes its whole family.
    pub async fn refresh(
        &self,
        client: &Client,
        token: &str,
        requested_scope: Option<&str>,
    ) -> Result<Issued, TokenError> {
        let next = StoredRefresh::new();
        let following = FirstRefresh {
            token_hash: &next.hash,
            expires_at: self.now + self.config.refresh_token_lifetime_secs,
        };
        let rotation = self
            .store
            .use_refresh_token(
                &secret::token_hash(token),
                &client.client_id,
                self.jkt.as_deref(),
                following,
                self.now,
            )
            .await?;
        let grant = match rotation {
            RefreshRotation::Rotated(grant) => *grant,
            RefreshRotation::Reused { grant_id } => {
                self.store.revoke_grant(&grant_id, self.now).await?;
                tracing::warn!(client_id = %client.client_id, "refresh token reused; family revoked");
                return Err(TokenError::InvalidGrant(
                    "the refresh token was already used",
                ));
            }
            // Also another client's token: it is left as it was.
            RefreshRotation::Invalid => {
                return Err(TokenError::InvalidGrant("the refresh token is not valid"))
            }
            RefreshRotation::OtherKey => {
                return Err(TokenError::InvalidGrant(
                    "the refresh token is bound to a DPoP key: send a proof made with it",
                ))
            }
        };
        if grant.revoked_at.is_some() {
            return Err(TokenError::InvalidGrant("the refresh token was revoked"));
        }
        let scope = narrowed(requested_scope, &grant.scope)?;
        self.sign(client, &grant, &scope, None, Some(next)).await
    }

    /// Signs the ID and access tokens of a grant for a user who can still
    /// sign in, with `refresh` as the refresh token when it is already
    /// stored, else with a new one stored now.
    async fn sign(
        &self,
        client: &Client,
        grant: &Grant,
        scope: &str,
        nonce: Option<&str>,
        refresh: Option<StoredRefresh>,
    ) -> Result<Issued, TokenError> {
        let user = self
            .store
            .user_by_id(&grant.user_id)
            .await?
            .filter(|u| !u.is_disabled)
            .ok_or(TokenError::InvalidGrant("the user can no longer sign in"))?;
        let subject = Subject {
            id: &user.id,
            username: &user.username,
            email: &user.email,
        };
        let id_token = self.id_token(client, grant, &subject, scope, nonce)?;
        let access_token = self.access_token(client, grant, &user.id, scope)?;
        let refresh_token = match refresh {
            Some(stored) => stored.token,
            None => self.new_refresh_token(&grant.id).await?,
        };
        Ok(Issued {
            access_token,
            token_type: if self.jkt.is_some() { "DPoP" } else { "Bearer" },
            expires_in: self.config.access_token_lifetime_secs,
            id_token: Some(id_token),
            refresh_token: Some(refresh_token),
            scope: scope.to_string(),
        })
    }

    fn id_token(
        &self,
        client: &Client,
        grant: &Grant,
        subject: &Subject,
        scope: &str,
        nonce: Option<&str>,
    ) -> Result<String, TokenError> {
        let auth = Authentication {
            sid: &grant.sid,
            auth_time: grant.auth_time,
            acr: &grant.acr,
            amr: &grant.amr,
        };
        let claims = claims::id_token(
            self.config.issuer(),
            &client.client_id,
            subject,
            &auth,
            nonce,
            scope,
            self.now,
            self.config.id_token_lifetime_secs,
        );
        let alg = Alg::parse(&client.id_token_alg).unwrap_or(Alg::RS256);
        Ok(self.keys.sign(alg, ID_TOKEN_TYP, &claims)?)
    }

    fn access_token(
        &self,
        client: &Client,
        grant: &Grant,
        user_id: &str,
        scope: &str,
    ) -> Result<String, TokenError> {
        let config = self.config;
        let claims = AccessTokenClaims {
            iss: config.issuer().to_string(),
            sub: user_id.to_string(),
            aud: client.client_id.clone(),
            client_id: client.client_id.clone(),
            exp: self.now + config.access_token_lifetime_secs,
            iat: self.now,
            jti: secret::random_id(),
            scope: scope.to_string(),
            sid: grant.sid.clone(),
            gid: grant.id.clone(),
            auth_time: grant.auth_time,
            acr: grant.acr.clone(),
            cnf: self.jkt.clone().map(|jkt| Confirmation { jkt }),
        };
        Ok(self
            .keys
            .sign(config.access_token_alg, ACCESS_TOKEN_TYP, &claims)?)
    }

    async fn new_refresh_token(&self, grant_id: &str) -> Result<String, TokenError> {
        let stored = StoredRefresh::new();
        let expires_at = self.now + self.config.refresh_token_lifetime_secs;
        self.store
            .put_refresh_token(&stored.hash, grant_id, self.now, expires_at)
            .await?;
        Ok(stored.token)
    }
}

impl StoredRefresh {
    fn new() -> StoredRefresh {
        let token = secret::random_token(32);
        let hash = secret::token_hash(&token);
        StoredRefresh { token, hash }
    }
}

/// The grant a checked code stands for.
fn grant_of(code: CodeGrant) -> Grant {
    Grant {
        id: code.grant_id,
        client_id: code.client_id,
        user_id: code.user_id,
        sid: code.sid,
        scope: code.scope,
        nonce: code.nonce,
        auth_time: code.auth_time,
        acr: code.acr,
        amr: code.amr,
        revoked_at: None,
        dpop_jkt: None,
    }
}

/// RFC 6749 §6: a narrower scope applies to the new access token only; a
/// wider one is refused.
fn narrowed(requested: Option<&str>, granted: &str) -> Result<String, TokenError> {
    match requested {
        Some(requested) if !scope::is_subset(requested, granted) => Err(TokenError::InvalidScope(
            "the requested scope exceeds the original grant",
        )),
        Some(requested) => Ok(scope::normalize(requested)),
        None => Ok(granted.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
        assert_eq!(narrowed(None, "openid email").unwrap(), "openid email");
        assert_eq!(narrowed(Some("openid"), "openid email").unwrap(), "openid");
        assert!(matches!(
            narrowed(Some("openid profile"), "openid email"),
            Err(TokenError::InvalidScope(_))
        ));
    }
}
