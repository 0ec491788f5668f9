//! Errors as their audience sees them: `OAuthError` for the protocol endpoints
//! (RFC 6749 §5.2 JSON), `PageError` for people in a browser (an error page),
//! `ApiError` for the console's JSON API.
//! Internal detail is logged here, once, and never sent.

use axum::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::service::console::ConsoleError;
use crate::service::dpop::DpopError;
use crate::service::tokens::TokenError;
use crate::store;

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_client: {0}")]
    InvalidClient(
        &'static str,
        /* answered with a Basic challenge */ bool,
    ),
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope: {0}")]
    InvalidScope(&'static str),
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// RFC 9449 §5: a DPoP proof refused.
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(&'static str),
    /// RFC 9449 §8: the proof must carry this nonce.
    #[error("use_dpop_nonce")]
    UseDpopNonce(String),
    /// An error of a resource asked with the DPoP scheme (RFC 9449 §7.1):
    /// answered with a DPoP challenge.
    #[error("{0}")]
    AtDpopResource(Box<OAuthError>),
    /// An authorization request refused with its own error code (RFC 6749
    /// §4.1.2.1), where no redirect carries it: a pushed request.
    #[error("{0}: {1}")]
    Refused(&'static str, String),
    #[error("temporarily_unavailable")]
    Unavailable,
    #[error("server_error")]
    Internal(String),
}

impl From<store::Error> for OAuthError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Unavailable(detail) => {
                tracing::error!(%detail, "database unavailable");
                OAuthError::Unavailable
            }
            other => OAuthError::Internal(other.to_string()),
        }
    }
}

impl From<DpopError> for OAuthError {
    fn from(err: DpopError) -> Self {
        match err {
            DpopError::Invalid(why) => OAuthError::InvalidDpopProof(why),
            DpopError::NonceRequired(nonce) => OAuthError::UseDpopNonce(nonce),
            DpopError::Store(err) => err.into(),
        }
    }
}

impl From<TokenError> for OAuthError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::InvalidGrant(why) => OAuthError::InvalidGrant(why),
            TokenError::InvalidScope(why) => OAuthError::InvalidScope(why),
            TokenError::UnauthorizedClient(why) => OAuthError::UnauthorizedClient(why),
            TokenError::Device(code, why) => OAuthError::Refused(code, why.into()),
            TokenError::Signing(err) => OAuthError::Internal(err.to_string()),
            TokenError::Store(err) => err.into(),
        }
    }
}

impl OAuthError {
    fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(..) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidToken(_) => "invalid_token",
            OAuthError::Refused(code, _) => code,
            OAuthError::InvalidDpopProof(_) => "invalid_dpop_proof",
            OAuthError::UseDpopNonce(_) => "use_dpop_nonce",
            OAuthError::AtDpopResource(inner) => inner.code(),
            OAuthError::Unavailable => "temporarily_unavailable",
            OAuthError::Internal(_) => "server_error",
        }
    }

    fn description(&self) -> Option<String> {
        match self {
            OAuthError::InvalidRequest(d) | OAuthError::Refused(_, d) => Some(d.clone()),
            OAuthError::InvalidClient(d, _)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidToken(d)
            | OAuthError::InvalidDpopProof(d) => Some((*d).to_string()),
            OAuthError::UseDpopNonce(_) => {
                Some("make the DPoP proof again with the nonce in the DPoP-Nonce header".into())
            }
            OAuthError::AtDpopResource(inner) => inner.description(),
            OAuthError::UnsupportedGrantType => Some("grant_type is not supported".into()),
            OAuthError::Unavailable => Some("the service is temporarily unavailable".into()),
            OAuthError::Internal(_) => None,
        }
    }

    /// The one table of status codes for protocol errors.
    fn status(&self) -> StatusCode {
        match self {
            OAuthError::AtDpopResource(inner) => match inner.status() {
                StatusCode::BAD_REQUEST => StatusCode::UNAUTHORIZED,
                other => other,
            },
            OAuthError::InvalidClient(..) | OAuthError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            OAuthError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The header that carries a server's DPoP nonce (RFC 9449 §8.1).
pub const DPOP_NONCE: &str = "dpop-nonce";

impl OAuthError {
    fn innermost(&self) -> &OAuthError {
        match self {
            OAuthError::AtDpopResource(inner) => inner.innermost(),
            other => other,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if let OAuthError::Internal(detail) = self.innermost() {
            tracing::error!(%detail, "protocol endpoint failed");
        }
        let mut body = serde_json::json!({ "error": self.code() });
        if let Some(description) = self.description() {
            body["error_description"] = description.into();
        }
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        match &self {
            OAuthError::InvalidClient(_, true) => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"gatehouse\""),
                );
            }
            OAuthError::InvalidToken(_) => {
                headers.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            OAuthError::AtDpopResource(inner) => {
                let challenge = format!(
                    "DPoP error=\"{}\", algs=\"{}\"",
                    inner.code(),
                    crate::oidc::dpop::ALGS.join(" ")
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.insert(WWW_AUTHENTICATE, value);
                }
            }
            _ => {}
        }
        if let OAuthError::UseDpopNonce(nonce) = self.innermost() {
            if let Ok(value) = HeaderValue::from_str(nonce) {
                headers.insert(DPOP_NONCE, value);
            }
        }
        response
    }
}

/// An error for a person in a browser. Its response carries the message as an
/// extension; the page layer (`render::error_pages`) turns it into the error page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the database is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

/// What the error page shows: status and a message fit for anyone to read.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

impl From<store::Error> for PageError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Unavailable(detail) => {
                tracing::error!(%detail, "database unavailable");
                PageError::Unavailable
            }
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<minijinja::Error> for PageError {
    fn from(err: minijinja::Error) -> Self {
        PageError::Internal(format!("template: {err:#}"))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            PageError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                ErrorPage {
                    title: "This request cannot be completed",
                    message,
                },
            ),
            PageError::NotFound(message) => (
                StatusCode::NOT_FOUND,
                ErrorPage {
                    title: "Not found",
                    message,
                },
            ),
            PageError::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                ErrorPage {
                    title: "Not allowed",
                    message,
                },
            ),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorPage {
                    title: "Temporarily unavailable",
                    message: "Sign-in is unavailable for a moment. Please try again shortly."
                        .into(),
                },
            ),
            PageError::Internal(detail) => {
                tracing::error!(%detail, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorPage {
                        title: "Something went wrong",
                        message: "Please try again.".into(),
                    },
                )
            }
        };
        let mut response = (status, page.message.clone()).into_response();
        response.extensions_mut().insert(page);
        response
    }
}

/// An error of the API, as JSON `{"error", "error_description"}`.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized(&'static str),
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    Unavailable,
    Internal(String),
}

impl From<ConsoleError> for ApiError {
    fn from(err: ConsoleError) -> Self {
        match err {
            ConsoleError::Denied(denied) => ApiError::Forbidden(denied.message().into()),
            ConsoleError::NotFound(what) => ApiError::NotFound(what.into()),
            ConsoleError::Invalid(why) => ApiError::BadRequest(why),
            ConsoleError::Duplicate(why) => ApiError::Conflict(why),
            ConsoleError::Store(e) => e.into(),
            ConsoleError::Hashing(e) => ApiError::Internal(e),
        }
    }
}

impl From<store::Error> for ApiError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Unavailable(detail) => {
                tracing::error!(%detail, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, description) = match self {
            ApiError::Unauthorized(d) => (StatusCode::UNAUTHORIZED, "invalid_token", d.to_string()),
            ApiError::Forbidden(d) => (StatusCode::FORBIDDEN, "forbidden", d),
            ApiError::NotFound(d) => (StatusCode::NOT_FOUND, "not_found", d),
            ApiError::BadRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
            ApiError::Conflict(d) => (StatusCode::CONFLICT, "conflict", d),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the database is unavailable; try again shortly".into(),
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "admin API request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the request failed".into(),
                )
            }
        };
        let body = serde_json::json!({ "error": code, "error_description": description });
        let mut response = (status, [(CACHE_CONTROL, "no-store")], Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer error="invalid_token""#),
            );
        }
        response
    }
}
