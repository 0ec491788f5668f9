//! Relying parties: operators register and edit clients; a new or rotated
//! secret is shown once and only its hash is kept.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::frame::{param, Admin, Frame};
use crate::app::AppState;
use crate::auth::admin_rights;
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::oidc::registration::{uri_lines, Registration, ID_TOKEN_ALGS};
use crate::service::console::{self, ConsoleError};
use crate::store::{Client, Tenant};

pub const PATH: &str = "/admin/clients";
pub const NEW_PATH: &str = "/admin/clients/new";

/// The page of a client.
pub fn client_path(client_id: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    format!("{PATH}/{id}")
}

/// The operator's own account, which frames these pages; refused to anyone else.
async fn operators_account(app: &AppState, admin: &Admin) -> Result<Tenant, PageError> {
    admin_rights::may_manage_clients(&admin.actor())
        .map_err(|denied| PageError::Forbidden(denied.message().into()))?;
    admin.account(app, None).await
}

#[derive(Serialize)]
struct ClientRow {
    client_id: String,
    href: String,
    public: bool,
    redirect_uris: Vec<String>,
    id_token_alg: String,
    backchannel: bool,
    consent: bool,
}

#[derive(Serialize)]
struct ClientsPage {
    #[serde(flatten)]
    frame: Frame,
    clients: Vec<ClientRow>,
}

impl Page for ClientsPage {
    const TEMPLATE: &'static str = "admin/clients.html";
}

pub async fn show_list(State(app): State<AppState>, admin: Admin) -> Result<Response, PageError> {
    let account = operators_account(&app, &admin).await?;
    let clients = app
        .store
        .clients()
        .await?
        .into_iter()
        .map(|c| ClientRow {
            href: client_path(&c.client_id),
            public: c.is_public(),
            backchannel: c.backchannel_logout_uri.is_some(),
            consent: c.consent,
            client_id: c.client_id,
            redirect_uris: c.redirect_uris,
            id_token_alg: c.id_token_alg,
        })
        .collect();
    admin
        .render(&app, &account, "clients", |frame| ClientsPage {
            frame,
            clients,
        })
        .await
}

/// The form's fields, as shown or as submitted.
#[derive(Serialize, Default)]
struct Fields {
    client_id: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    id_token_alg: String,
    public: bool,
    /// Authenticates with `private_key_jwt`: its keys, or where they are.
    uses_keys: bool,
    jwks_uri: String,
    jwks: String,
    /// A third-party client: users are asked for consent.
    consent: bool,
    /// Only pushed authorization requests are accepted.
    require_par: bool,
    /// The device authorization grant is open to it.
    device_grant: bool,
    /// The `admin` grant: empty, an account id, or `*`.
    admin_scope: String,
}

impl Fields {
    fn of(client: &Client) -> Fields {
        Fields {
            client_id: client.client_id.clone(),
            redirect_uris: client.redirect_uris.join("\n"),
            post_logout_redirect_uris: client.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: client.backchannel_logout_uri.clone().unwrap_or_default(),
            id_token_alg: client.id_token_alg.clone(),
            public: client.is_public(),
            uses_keys: client.uses_keys(),
            jwks_uri: client.jwks_uri.clone().unwrap_or_default(),
            jwks: client.jwks.clone().unwrap_or_default(),
            consent: client.consent,
            require_par: client.require_par,
            device_grant: client.device_grant,
            admin_scope: client.admin_scope.clone().unwrap_or_default(),
        }
    }

    fn submitted(form: &Params) -> Fields {
        let field = |name| {
            form.get(name)
                .ok()
                .flatten()
                .filter(|v| v.len() <= 20_000)
                .unwrap_or_default()
                .to_string()
        };
        Fields {
            client_id: field("client_id").trim().to_string(),
            redirect_uris: field("redirect_uris"),
            post_logout_redirect_uris: field("post_logout_redirect_uris"),
            backchannel_logout_uri: field("backchannel_logout_uri").trim().to_string(),
            id_token_alg: field("id_token_alg"),
            public: field("kind") == "public",
            uses_keys: field("kind") == "keys",
            jwks_uri: field("jwks_uri").trim().to_string(),
            jwks: field("jwks").trim().to_string(),
            consent: field("consent") == "on",
            require_par: field("require_par") == "on",
            device_grant: field("device_grant") == "on",
            admin_scope: field("admin_scope"),
        }
    }

    fn registration(&self) -> Registration {
        Registration {
            client_id: self.client_id.clone(),
            redirect_uris: uri_lines(&self.redirect_uris),
            post_logout_redirect_uris: uri_lines(&self.post_logout_redirect_uris),
            backchannel_logout_uri: Some(self.backchannel_logout_uri.clone())
                .filter(|u| !u.is_empty()),
            id_token_alg: self.id_token_alg.clone(),
            consent: self.consent,
            require_par: self.require_par,
            device_grant: self.device_grant,
            // Only a key client's keys are read: a secret's form has none.
            jwks: Some(self.jwks.clone()).filter(|j| self.uses_keys && !j.is_empty()),
            jwks_uri: Some(self.jwks_uri.clone()).filter(|u| self.uses_keys && !u.is_empty()),
        }
    }
}

#[derive(Serialize)]
struct ClientFormPage {
    #[serde(flatten)]
    frame: Frame,
    is_new: bool,
    action: String,
    fields: Fields,
    algs: &'static [&'static str],
    /// The accounts an `admin` grant can name.
    grantable: Vec<(String, String)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

impl Page for ClientFormPage {
    const TEMPLATE: &'static str = "admin/client.html";
}

async fn render_form(
    app: &AppState,
    admin: &Admin,
    is_new: bool,
    fields: Fields,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let account = operators_account(app, admin).await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let grantable = app
        .store
        .tenants()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let action = if is_new {
        NEW_PATH.to_string()
    } else {
        client_path(&fields.client_id)
    };
    let mut response = admin
        .render(app, &account, "clients", |frame| ClientFormPage {
            frame,
            is_new,
            action,
            fields,
            algs: ID_TOKEN_ALGS,
            grantable,
            notice,
            error,
        })
        .await?;
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Serialize)]
struct SecretPage {
    #[serde(flatten)]
    frame: Frame,
    client_id: String,
    client_href: String,
    secret: String,
}

impl Page for SecretPage {
    const TEMPLATE: &'static str = "admin/client_secret.html";
}

async fn show_secret(
    app: &AppState,
    admin: &Admin,
    client_id: &str,
    secret: String,
) -> Result<Response, PageError> {
    let account = operators_account(app, admin).await?;
    admin
        .render(app, &account, "clients", |frame| SecretPage {
            frame,
            client_id: client_id.to_string(),
            client_href: client_path(client_id),
            secret,
        })
        .await
}

pub async fn show_new(State(app): State<AppState>, admin: Admin) -> Result<Response, PageError> {
    let fields = Fields {
        id_token_alg: "RS256".into(),
        ..Fields::default()
    };
    render_form(&app, &admin, true, fields, None, None).await
}

/// A new key client must say where its keys are.
fn keys_missing(fields: &Fields) -> Option<String> {
    (fields.uses_keys && fields.jwks.is_empty() && fields.jwks_uri.is_empty()).then(|| {
        "A key-pair client needs its public keys: a JWK Set URL or the JWK Set itself.".into()
    })
}

pub async fn submit_new(
    State(app): State<AppState>,
    admin: Admin,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    operators_account(&app, &admin).await?;
    let fields = Fields::submitted(&form);
    if let Some(error) = keys_missing(&fields) {
        return render_form(&app, &admin, true, fields, None, Some(error)).await;
    }
    let registration = fields.registration();
    let actor = admin.actor();
    match console::create_client(&app, &actor, &registration, fields.public).await {
        Ok(Some(secret)) => show_secret(&app, &admin, &registration.client_id, secret).await,
        Ok(None) => Ok(see_other(&format!(
            "{}?saved=1",
            client_path(&registration.client_id)
        ))),
        Err(ConsoleError::Invalid(error) | ConsoleError::Duplicate(error)) => {
            render_form(&app, &admin, true, fields, None, Some(error)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn show_client(
    State(app): State<AppState>,
    admin: Admin,
    Path(client_id): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, PageError> {
    let client = console::client(&app, &admin.actor(), &client_id).await?;
    let saved = super::frame::query(raw);
    let notice = (param(&saved, "saved") == Some("1")).then_some("Saved.");
    render_form(&app, &admin, false, Fields::of(&client), notice, None).await
}

pub async fn submit_client(
    State(app): State<AppState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    let actor = admin.actor();
    let existing = console::client(&app, &actor, &client_id).await?;
    let mut fields = Fields::submitted(&form);
    // The id and the kind stay as registered.
    fields.client_id = existing.client_id.clone();
    fields.public = existing.is_public();
    fields.uses_keys = existing.uses_keys();
    let scope = Some(fields.admin_scope.as_str()).filter(|s| !s.is_empty());
    let scope_changes = scope != existing.admin_scope.as_deref();
    // Everything is checked before anything is written.
    let checked = match scope_changes {
        true => console::check_client_admin_scope(&app, &actor, &client_id, scope).await,
        false => Ok(()),
    };
    let saved = match checked {
        Ok(()) => console::update_client(&app, &actor, &fields.registration()).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => {}
        Err(ConsoleError::Invalid(error)) => {
            return render_form(&app, &admin, false, fields, None, Some(error)).await
        }
        Err(e) => return Err(e.into()),
    }
    if scope_changes {
        console::set_client_admin_scope(&app, &actor, &client_id, scope).await?;
    }
    Ok(see_other(&format!("{}?saved=1", client_path(&client_id))))
}

pub async fn submit_rotate(
    State(app): State<AppState>,
    admin: Admin,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    admin.form(&app, &body)?;
    let secret = console::rotate_client_secret(&app, &admin.actor(), &client_id).await?;
    show_secret(&app, &admin, &client_id, secret).await
}
