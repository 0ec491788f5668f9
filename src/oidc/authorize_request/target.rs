//! Where an authorization request's answer goes, known before anything else
//! is checked (`Target`), the two kinds of error (on the provider's page, or
//! back to the client's redirect URI), and the redirect back.

use serde::{Deserialize, Serialize};

use crate::oidc::params::Params;

/// How the answer reaches the redirect URI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    /// In the redirect's query (RFC 6749 §4.1.2).
    #[default]
    Query,
    /// As a form the browser posts to it (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

impl ResponseMode {
    /// The mode `response_mode` names; `None` for one not supported.
    pub fn parse(value: Option<&str>) -> Option<ResponseMode> {
        match value {
            None | Some("query") => Some(ResponseMode::Query),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some(_) => None,
        }
    }
}

/// Where the answer goes: known before anything else is checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    /// How errors and the code go back (an unknown mode: by query).
    pub response_mode: ResponseMode,
}

/// An error shown on the provider's page, because there is nowhere safe to send it.
#[derive(Debug, PartialEq, Eq)]
pub struct PageError(pub String);

/// An error for the client, sent to its redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, PartialEq, Eq)]
pub struct RedirectError {
    pub error: &'static str,
    pub description: String,
}

impl RedirectError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        RedirectError {
            error,
            description: description.into(),
        }
    }
}

impl Target {
    pub fn from_params(params: &Params) -> Result<Target, PageError> {
        let one = |name: &str| params.get(name).map_err(|d| PageError(d.to_string()));
        let client_id =
            one("client_id")?.ok_or_else(|| PageError("client_id is missing".into()))?;
        let redirect_uri =
            one("redirect_uri")?.ok_or_else(|| PageError("redirect_uri is missing".into()))?;
        if client_id.len() > 255 || redirect_uri.len() > 2048 {
            return Err(PageError("client_id or redirect_uri is too long".into()));
        }
        // A repeated state cannot be echoed faithfully; it is reported without one.
        let state = params.get("state").ok().flatten().map(str::to_string);
        let mode = params.get("response_mode").ok().flatten();
        Ok(Target {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            state,
            response_mode: ResponseMode::parse(mode).unwrap_or_default(),
        })
    }
}

/// Builds the redirect back to the client with `pairs` added to its query
/// (RFC 6749 §4.1.2 and RFC 9207's `iss`).
pub fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            url.to_string()
        }
        // Only registered URIs reach here, and registration parses them.
        Err(_) => redirect_uri.to_string(),
    }
}
