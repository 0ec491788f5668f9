//! Typed forms: a page's POST body read into its own struct, with the rules
//! of `oidc::params` (an empty value or one holding NUL is absent, a field
//! sent twice is absent). A body that does not fit the struct is answered,
//! here and only here, with the page error "This form could not be read".

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::de::value::{Error as FormError, MapDeserializer};
use serde::de::{
    DeserializeOwned, Deserializer, Error as _, IntoDeserializer, Unexpected, Visitor,
};
use serde::forward_to_deserialize_any;
use serde::Deserialize;

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::oidc::params::Params;

/// Longer input is refused before it reaches argon2 or the store.
pub const MAX_FIELD_LEN: usize = 1024;

/// A form body read into `T`, whose fields are `Option<String>` (or have a
/// default) so that a missing field is the handler's to answer.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PageError> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| unreadable())?;
        parse(&body).map(Form).map_err(|err| {
            tracing::debug!(%err, "a form that does not fit its page");
            unreadable()
        })
    }
}

/// The one answer to a form body that does not fit its page.
pub fn unreadable() -> PageError {
    PageError::BadRequest("This form could not be read. Go back and try again.".into())
}

/// A posted request's headers and body, for an extractor that reads both.
pub async fn split<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<(HeaderMap, Bytes), Response> {
    let headers = request.headers().clone();
    let body = Bytes::from_request(request, state)
        .await
        .map_err(|_| unreadable().into_response())?;
    Ok((headers, body))
}

/// Whether a form body's CSRF token matches this browser's.
pub fn csrf_holds(app: &AppState, headers: &HeaderMap, body: &[u8]) -> bool {
    let csrf: CsrfOnly = parse(body).unwrap_or_default();
    cookies::csrf_ok(app, headers, bounded(&csrf.csrf_token))
}

/// A form body read into `T`, or the answer to one that does not fit.
pub fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, PageError> {
    parse(body).map_err(|_| unreadable())
}

/// Reads a form body into `T`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, FormError> {
    let params = Params::parse(body);
    let fields = params.single().map(|(name, value)| (name, Field(value)));
    T::deserialize(MapDeserializer::new(fields))
}

/// One field's text: a string, `Some` of one, or a number written out.
struct Field<'a>(&'a str);

macro_rules! numbers {
    ($($method:ident $visit:ident $type:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
            let number: $type = self.0.trim().parse().map_err(|_| {
                FormError::invalid_value(Unexpected::Str(self.0), &stringify!($type))
            })?;
            visitor.$visit(number)
        }
    )*};
}

impl<'de> Deserializer<'de> for Field<'_> {
    type Error = FormError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        visitor.visit_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        visitor.visit_some(self)
    }

    numbers!(deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64, deserialize_i64 visit_i64 i64);

    forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u16 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

impl<'de, 'a> IntoDeserializer<'de, FormError> for Field<'a> {
    type Deserializer = Field<'a>;

    fn into_deserializer(self) -> Field<'a> {
        self
    }
}

/// A text field that is present and not over [`MAX_FIELD_LEN`].
pub fn bounded(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| v.len() <= MAX_FIELD_LEN)
}

/// The one field most forms carry.
#[derive(Debug, Default, Deserialize)]
pub struct CsrfOnly {
    pub csrf_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Login {
        username: Option<String>,
        password: Option<String>,
        remember: Option<String>,
    }

    #[test]
    fn a_form_reads_into_its_struct_with_the_parameter_rules() {
        let form: Login = parse(b"username=alice&password=&remember=a&remember=b&extra=1").unwrap();
        assert_eq!(form.username.as_deref(), Some("alice"));
        // Empty is absent, and a field sent twice is absent.
        assert_eq!(form.password, None);
        assert_eq!(form.remember, None);
    }

    #[test]
    fn a_body_that_does_not_fit_is_an_error() {
        #[derive(Debug, Deserialize)]
        struct Needs {
            count: u32,
        }
        assert!(parse::<Needs>(b"count=many").is_err());
        assert!(parse::<Needs>(b"").is_err());
        assert_eq!(parse::<Needs>(b"count=3").unwrap().count, 3);
    }

    #[test]
    fn overlong_fields_are_not_read() {
        let long = Some("x".repeat(MAX_FIELD_LEN + 1));
        assert_eq!(bounded(&long), None);
        assert_eq!(bounded(&Some("ok".into())), Some("ok"));
    }
}
