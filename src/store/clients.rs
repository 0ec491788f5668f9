//! The `clients` table: registered relying parties.

use super::{Error, Store};

#[derive(Clone)]
pub struct Client {
    pub client_id: String,
    /// argon2id hash of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
    /// The `admin` scope granted for the client-credentials grant: an
    /// account id, or `*` for every account.
    pub admin_scope: Option<String>,
    /// A third-party client: its users are asked before it gets their data.
    pub consent: bool,
    /// Plain authorization requests are refused: only pushed ones (RFC 9126).
    pub require_par: bool,
    /// `private_key_jwt`: the client's public keys as a JWK Set, or where
    /// to fetch them.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// The device authorization grant (RFC 8628) is open to the client.
    pub device_grant: bool,
}

impl Client {
    /// A client without credentials of its own: no secret, no keys.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none() && !self.uses_keys()
    }

    /// A client that authenticates with `private_key_jwt`.
    pub fn uses_keys(&self) -> bool {
        self.jwks.is_some() || self.jwks_uri.is_some()
    }
}

pub struct NewClient<'a> {
    pub client_id: &'a str,
    pub secret_hash: Option<&'a str>,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub backchannel_logout_uri: Option<&'a str>,
    pub id_token_alg: &'a str,
    pub consent: bool,
    pub require_par: bool,
    pub jwks: Option<&'a str>,
    pub jwks_uri: Option<&'a str>,
    pub device_grant: bool,
    pub now: i64,
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: Option<String>,
    id_token_alg: String,
    admin_scope: Option<String>,
    consent: i64,
    require_par: i64,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    device_grant: i64,
}

const CLIENT_COLUMNS: &str = "client_id, secret_hash, redirect_uris, post_logout_redirect_uris, \
     backchannel_logout_uri, id_token_alg, admin_scope, consent, require_par, jwks, jwks_uri, \
     device_grant";

fn uri_list(text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("client URI list: {e}")))
}

impl TryFrom<ClientRow> for Client {
    type Error = Error;
    fn try_from(row: ClientRow) -> Result<Self, Error> {
        Ok(Client {
            redirect_uris: uri_list(&row.redirect_uris)?,
            post_logout_redirect_uris: uri_list(&row.post_logout_redirect_uris)?,
            client_id: row.client_id,
            secret_hash: row.secret_hash,
            backchannel_logout_uri: row.backchannel_logout_uri,
            id_token_alg: row.id_token_alg,
            admin_scope: row.admin_scope,
            consent: row.consent != 0,
            require_par: row.require_par != 0,
            jwks: row.jwks,
            jwks_uri: row.jwks_uri,
            device_grant: row.device_grant != 0,
        })
    }
}

impl Store {
    pub async fn create_client(&self, client: NewClient<'_>) -> Result<(), Error> {
        let to_json = |uris: &[String]| serde_json::to_string(uris).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "insert into clients (client_id, secret_hash, redirect_uris, post_logout_redirect_uris, \
             backchannel_logout_uri, id_token_alg, consent, require_par, jwks, jwks_uri, \
             device_grant, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(client.client_id)
        .bind(client.secret_hash)
        .bind(to_json(client.redirect_uris))
        .bind(to_json(client.post_logout_redirect_uris))
        .bind(client.backchannel_logout_uri)
        .bind(client.id_token_alg)
        .bind(i64::from(client.consent))
        .bind(i64::from(client.require_par))
        .bind(client.jwks)
        .bind(client.jwks_uri)
        .bind(i64::from(client.device_grant))
        .bind(client.now)
        .execute(&mut *self.write().await?)
        .await
        .map_err(|e| Error::duplicate_as(e, "a client with that client_id"))?;
        Ok(())
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, Error> {
        let sql = format!("select {CLIENT_COLUMNS} from clients where client_id = $1");
        let row: Option<ClientRow> = sqlx::query_as(&sql)
            .bind(client_id)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        row.map(Client::try_from).transpose()
    }

    /// Every client, by id.
    pub async fn clients(&self) -> Result<Vec<Client>, Error> {
        let sql = format!("select {CLIENT_COLUMNS} from clients order by client_id");
        let rows: Vec<ClientRow> = sqlx::query_as(&sql)
            .fetch_all(&mut *self.read().await?)
            .await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    /// Changes a client's URIs, algorithm, policies and keys (not its id or secret).
    pub async fn update_client(&self, client: NewClient<'_>) -> Result<(), Error> {
        let to_json = |uris: &[String]| serde_json::to_string(uris).unwrap_or_else(|_| "[]".into());
        let done = sqlx::query(
            "update clients set redirect_uris = $1, post_logout_redirect_uris = $2, \
             backchannel_logout_uri = $3, id_token_alg = $4, consent = $5, require_par = $6, \
             jwks = $7, jwks_uri = $8, device_grant = $9 where client_id = $10",
        )
        .bind(to_json(client.redirect_uris))
        .bind(to_json(client.post_logout_redirect_uris))
        .bind(client.backchannel_logout_uri)
        .bind(client.id_token_alg)
        .bind(i64::from(client.consent))
        .bind(i64::from(client.require_par))
        .bind(client.jwks)
        .bind(client.jwks_uri)
        .bind(i64::from(client.device_grant))
        .bind(client.client_id)
        .execute(&mut *self.write().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("client"));
        }
        Ok(())
    }

    /// Replaces a confidential client's secret hash.
    pub async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> Result<(), Error> {
        let done = sqlx::query(
            "update clients set secret_hash = $1 where client_id = $2 and secret_hash is not null",
        )
        .bind(secret_hash)
        .bind(client_id)
        .execute(&mut *self.write().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("confidential client"));
        }
        Ok(())
    }

    /// Records the `jti` of a client assertion until `expires_at`; `false`
    /// when it was recorded before (a replay, on this node or another).
    pub async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "insert into client_assertions (client_id, jti, expires_at) values ($1, $2, $3) \
             on conflict (client_id, jti) do nothing",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at)
        .execute(&mut *self.write().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_client_admin_scope(
        &self,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<(), Error> {
        sqlx::query("update clients set admin_scope = $1 where client_id = $2")
            .bind(scope)
            .bind(client_id)
            .execute(&mut *self.write().await?)
            .await?;
        Ok(())
    }
}
