//! Authorization requests (OpenID Connect Core §3.1.2.1, RFC 6749 §4.1.1,
//! RFC 7636): parsed once at the edge into a validated value.
//!
//! Validation runs in two steps. `Target::from_params` finds the client and
//! redirect URI; until the caller has checked both against the registration,
//! errors are shown on the provider's own page (RFC 6749 §4.1.2.1: never
//! redirect to an unverified redirect_uri). `AuthorizeRequest::from_params`
//! then checks the rest; its errors go back to the client by redirect.

mod target;

pub use target::{redirect_with, PageError, RedirectError, ResponseMode, Target};

use serde::{Deserialize, Serialize};

use crate::auth::acr::Acr;
use crate::oidc::params::Params;
use crate::oidc::{pkce, scope};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    /// Use the session if there is one, else sign in.
    Default,
    /// Never show a page: answer `login_required` without a session.
    None,
    /// Sign in again even with a session.
    Login,
}

/// A checked authorization request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    /// `prompt=consent`: a third-party client's user is asked even when they
    /// allowed these scopes before.
    #[serde(default)]
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
    /// `acr_values`: the levels the relying party would like, in order of
    /// preference (voluntary, OpenID Connect Core §3.1.2.1).
    pub acr_values: Vec<String>,
    /// The values of an essential `acr` claim (§5.5.1.1): one of them must hold.
    #[serde(default)]
    pub essential_acr: Vec<String>,
    #[serde(default)]
    pub response_mode: ResponseMode,
}

const MAX_VALUE_LEN: usize = 2048;

impl AuthorizeRequest {
    /// Checks everything but the client registration (done with `Target`).
    pub fn from_params(
        params: &Params,
        target: Target,
        is_public_client: bool,
    ) -> Result<AuthorizeRequest, RedirectError> {
        if let Some(name) = params.first_duplicate() {
            return Err(RedirectError::new(
                "invalid_request",
                format!("parameter {name} was sent more than once"),
            ));
        }
        let get = |name: &str| -> Result<Option<String>, RedirectError> {
            match params.get(name) {
                Ok(Some(v)) if v.len() > MAX_VALUE_LEN => Err(RedirectError::new(
                    "invalid_request",
                    format!("{name} is too long"),
                )),
                Ok(v) => Ok(v.map(str::to_string)),
                Err(d) => Err(RedirectError::new("invalid_request", d.to_string())),
            }
        };
        if get("request")?.is_some() {
            return Err(RedirectError::new(
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        if get("request_uri")?.is_some() {
            return Err(RedirectError::new(
                "request_uri_not_supported",
                "request_uri is not supported",
            ));
        }
        match get("response_type")?.as_deref() {
            Some("code") => {}
            Some(_) => {
                return Err(RedirectError::new(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ))
            }
            None => {
                return Err(RedirectError::new(
                    "invalid_request",
                    "response_type is missing",
                ))
            }
        }
        let Some(response_mode) = ResponseMode::parse(get("response_mode")?.as_deref()) else {
            return Err(RedirectError::new(
                "invalid_request",
                "response_mode must be query or form_post",
            ));
        };
        let requested_scope = get("scope")?.unwrap_or_default();
        if !scope::contains(&requested_scope, "openid") {
            return Err(RedirectError::new(
                "invalid_scope",
                "the openid scope is required",
            ));
        }
        let scope = scope::normalize(&requested_scope);

        let code_challenge = get("code_challenge")?;
        let method = get("code_challenge_method")?;
        match (&code_challenge, method.as_deref()) {
            (None, None) if is_public_client => {
                return Err(RedirectError::new(
                    "invalid_request",
                    "public clients must use PKCE (code_challenge with S256)",
                ))
            }
            (None, None) => {}
            (None, Some(_)) => {
                return Err(RedirectError::new(
                    "invalid_request",
                    "code_challenge is missing",
                ))
            }
            (Some(_), None | Some("plain")) => {
                return Err(RedirectError::new(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ))
            }
            (Some(challenge), Some("S256")) => {
                if !pkce::is_valid_challenge(challenge) {
                    return Err(RedirectError::new(
                        "invalid_request",
                        "code_challenge is malformed",
                    ));
                }
            }
            (Some(_), Some(_)) => {
                return Err(RedirectError::new(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ))
            }
        }

        let prompt_text = get("prompt")?;
        let prompt = parse_prompt(prompt_text.as_deref())?;
        let prompt_consent = prompt_text.is_some_and(|p| p.split(' ').any(|v| v == "consent"));
        let max_age = match get("max_age")? {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(secs) if secs >= 0 => Some(secs),
                _ => {
                    return Err(RedirectError::new(
                        "invalid_request",
                        "max_age must be a non-negative integer",
                    ))
                }
            },
        };
        let acr_values: Vec<String> = get("acr_values")?
            .map(|v| {
                v.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let essential_acr = match get("claims")? {
            Some(claims) => essential_acr_values(&claims)?,
            None => Vec::new(),
        };
        Ok(AuthorizeRequest {
            client_id: target.client_id,
            redirect_uri: target.redirect_uri,
            scope,
            state: get("state")?,
            nonce: get("nonce")?,
            code_challenge,
            prompt,
            prompt_consent,
            max_age,
            login_hint: get("login_hint")?,
            id_token_hint: get("id_token_hint")?,
            acr_values,
            essential_acr,
            response_mode,
        })
    }

    /// Whether the relying party asked for a second factor: `acr_values`, or
    /// an essential `acr` claim, that names `aal2` and not `aal1`. A list is
    /// any of its levels, so `aal1 aal2` is answered by a password session;
    /// values Gatehouse does not know are left aside.
    pub fn wants_aal2(&self) -> bool {
        let only_aal2 = |values: &[String]| {
            values.iter().any(|acr| acr == Acr::Aal2.as_str())
                && !values.iter().any(|acr| acr == Acr::Aal1.as_str())
        };
        only_aal2(&self.acr_values) || only_aal2(&self.essential_acr)
    }

    /// Whether a session answers this request when it resumes after a
    /// sign-in: it must have the level asked for, and where the request asked
    /// for a fresh sign-in, `fresh` (this very sign-in completed the request).
    pub fn satisfied_by(&self, acr: Acr, auth_time: i64, fresh: bool, now: i64) -> bool {
        let level_ok = !self.wants_aal2() || acr == Acr::Aal2;
        let prompt_ok = self.prompt != Prompt::Login || fresh;
        let age_ok = self.max_age.is_none() || fresh || !self.session_too_old(auth_time, now);
        level_ok && prompt_ok && age_ok
    }

    /// Whether a session authenticated at `auth_time` is too old for this request.
    pub fn session_too_old(&self, auth_time: i64, now: i64) -> bool {
        match self.max_age {
            // max_age=0 asks for a fresh sign-in, like prompt=login.
            Some(0) => true,
            Some(max_age) => now - auth_time > max_age,
            None => false,
        }
    }
}

/// The `acr` values an OpenID Connect Core §5.5 `claims` request marks
/// essential for the ID token.
fn essential_acr_values(claims: &str) -> Result<Vec<String>, RedirectError> {
    let malformed =
        || RedirectError::new("invalid_request", "the claims parameter is not valid JSON");
    let json: serde_json::Value = serde_json::from_str(claims).map_err(|_| malformed())?;
    if !json.is_object() {
        return Err(malformed());
    }
    let acr = &json["id_token"]["acr"];
    if acr["essential"] != serde_json::Value::Bool(true) {
        return Ok(Vec::new());
    }
    let mut values: Vec<String> = Vec::new();
    if let Some(value) = acr["value"].as_str() {
        values.push(value.to_string());
    }
    if let Some(list) = acr["values"].as_array() {
        values.extend(list.iter().filter_map(|v| v.as_str()).map(str::to_string));
    }
    Ok(values)
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, RedirectError> {
    let Some(value) = value else {
        return Ok(Prompt::Default);
    };
    let values: Vec<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
    if values.contains(&"none") {
        if values.len() > 1 {
            return Err(RedirectError::new(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
        return Ok(Prompt::None);
    }
    for v in &values {
        if !matches!(*v, "login" | "consent" | "select_account") {
            return Err(RedirectError::new(
                "invalid_request",
                format!("unsupported prompt value {v}"),
            ));
        }
    }
    Ok(if values.contains(&"login") {
        Prompt::Login
    } else {
        Prompt::Default
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn parse(query: &str, public: bool) -> Result<AuthorizeRequest, RedirectError> {
        let params = Params::parse(query.as_bytes());
        let target = Target::from_params(&params).expect("target present");
        AuthorizeRequest::from_params(&params, target, public)
    }

    fn base() -> String {
        format!(
            "client_id=portal&redirect_uri=https%3A%2F%2Fapp%2Fcb&response_type=code&scope=openid+email&state=s1&nonce=n1&code_challenge={CHALLENGE}&code_challenge_method=S256"
        )
    }

    #[test]
    fn a_complete_request_parses() {
        let req = parse(
            &format!("{}&prompt=login&max_age=300&login_hint=ann&foo=bar", base()),
            true,
        )
        .unwrap();
        assert_eq!(req.client_id, "portal");
        assert_eq!(req.redirect_uri, "https://app/cb");
        assert_eq!(req.scope, "openid email");
        assert_eq!(req.state.as_deref(), Some("s1"));
        assert_eq!(req.nonce.as_deref(), Some("n1"));
        assert_eq!(req.prompt, Prompt::Login);
        assert_eq!(req.max_age, Some(300));
        assert_eq!(req.login_hint.as_deref(), Some("ann"));
        assert!(!req.prompt_consent);
    }

    #[test]
    fn prompt_consent_is_kept_beside_login() {
        let both = parse(&format!("{}&prompt=consent+login", base()), false).unwrap();
        assert_eq!(both.prompt, Prompt::Login);
        assert!(both.prompt_consent);
        let alone = parse(&format!("{}&prompt=consent", base()), false).unwrap();
        assert_eq!(alone.prompt, Prompt::Default);
        assert!(alone.prompt_consent);
    }

    #[test]
    fn missing_client_or_redirect_uri_stays_on_the_provider() {
        assert!(Target::from_params(&Params::parse(b"client_id=a")).is_err());
        assert!(Target::from_params(&Params::parse(b"redirect_uri=x")).is_err());
        assert!(
            Target::from_params(&Params::parse(b"client_id=a&client_id=b&redirect_uri=x")).is_err()
        );
    }

    #[test]
    fn public_clients_need_pkce_and_confidential_ones_may_skip_it() {
        let without =
            "client_id=c&redirect_uri=https%3A%2F%2Fapp%2Fcb&response_type=code&scope=openid";
        assert_eq!(parse(without, true).unwrap_err().error, "invalid_request");
        assert!(parse(without, false).is_ok());
    }

    #[test]
    fn plain_pkce_is_refused() {
        let q = "client_id=c&redirect_uri=https%3A%2F%2Fapp%2Fcb&response_type=code&scope=openid&code_challenge=abcdefghijabcdefghijabcdefghijabcdefghijabc";
        assert_eq!(parse(q, false).unwrap_err().error, "invalid_request");
        assert_eq!(
            parse(&format!("{q}&code_challenge_method=plain"), false)
                .unwrap_err()
                .error,
            "invalid_request"
        );
    }

    #[test]
    fn bad_values_get_their_spec_error_codes() {
        let cases = [
            ("response_type=token", "unsupported_response_type"),
            ("scope=email", "invalid_scope"),
            ("prompt=none+login", "invalid_request"),
            ("max_age=-1", "invalid_request"),
            ("max_age=soon", "invalid_request"),
            ("request=eyJ", "request_not_supported"),
            ("nonce=again", "invalid_request"),
        ];
        for (extra, code) in cases {
            let key = extra.split('=').next().unwrap();
            let query: String = base()
                .split('&')
                .filter(|p| !p.starts_with(&format!("{key}=")) || key == "nonce")
                .collect::<Vec<_>>()
                .join("&");
            let err = parse(&format!("{query}&{extra}"), false).unwrap_err();
            assert_eq!(err.error, code, "for {extra}");
        }
    }

    #[test]
    fn aal2_is_asked_by_acr_values_or_an_essential_acr_claim() {
        assert!(!parse(&base(), false).unwrap().wants_aal2());
        assert!(parse(&format!("{}&acr_values=aal2", base()), false)
            .unwrap()
            .wants_aal2());
        let essential = r#"{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}"#;
        let encoded: String = url::form_urlencoded::byte_serialize(essential.as_bytes()).collect();
        let essential_encoded = encoded.clone();
        assert!(parse(&format!("{}&claims={encoded}", base()), false)
            .unwrap()
            .wants_aal2());
        // A list in order of preference: any level of it will do.
        for either in ["aal1%20aal2", "aal2%20aal1", "aal1"] {
            assert!(!parse(&format!("{}&acr_values={either}", base()), false)
                .unwrap()
                .wants_aal2());
        }
        assert!(parse(&format!("{}&acr_values=urn:x%20aal2", base()), false)
            .unwrap()
            .wants_aal2());
        let either = r#"{"id_token":{"acr":{"essential":true,"values":["aal1","aal2"]}}}"#;
        let encoded: String = url::form_urlencoded::byte_serialize(either.as_bytes()).collect();
        assert!(!parse(&format!("{}&claims={encoded}", base()), false)
            .unwrap()
            .wants_aal2());
        // An essential claim for aal2 outranks a voluntary list.
        assert!(parse(
            &format!("{}&acr_values=aal1&claims={essential_encoded}", base()),
            false
        )
        .unwrap()
        .wants_aal2());
        let voluntary = r#"{"id_token":{"acr":{"values":["aal2"]}}}"#;
        let encoded: String = url::form_urlencoded::byte_serialize(voluntary.as_bytes()).collect();
        assert!(!parse(&format!("{}&claims={encoded}", base()), false)
            .unwrap()
            .wants_aal2());
        assert_eq!(
            parse(&format!("{}&claims=%7Bnot", base()), false)
                .unwrap_err()
                .error,
            "invalid_request"
        );
    }

    #[test]
    fn a_resumed_request_needs_the_level_and_freshness_it_asked_for() {
        let plain = parse(&base(), false).unwrap();
        assert!(
            plain.satisfied_by(Acr::Aal1, 10, false, 200),
            "an old aal1 session answers a plain request"
        );
        let aal2 = parse(&format!("{}&acr_values=aal2", base()), false).unwrap();
        assert!(!aal2.satisfied_by(Acr::Aal1, 150, true, 200));
        assert!(aal2.satisfied_by(Acr::Aal2, 150, false, 200));
        let login = parse(&format!("{}&prompt=login", base()), false).unwrap();
        assert!(
            !login.satisfied_by(Acr::Aal2, 199, false, 200),
            "not the sign-in that completed it"
        );
        assert!(login.satisfied_by(Acr::Aal1, 100, true, 200));
        let max_age = parse(&format!("{}&max_age=0", base()), false).unwrap();
        assert!(!max_age.satisfied_by(Acr::Aal1, 200, false, 200));
        assert!(max_age.satisfied_by(Acr::Aal1, 120, true, 200));
    }

    #[test]
    fn max_age_decides_whether_a_session_is_too_old() {
        let mut req = parse(&base(), false).unwrap();
        assert!(!req.session_too_old(0, 1_000_000));
        req.max_age = Some(60);
        assert!(!req.session_too_old(1000, 1060));
        assert!(req.session_too_old(1000, 1061));
        req.max_age = Some(0);
        assert!(req.session_too_old(1000, 1000));
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        let url = redirect_with("https://app/cb?x=1", &[("code", "a b"), ("state", "s")]);
        assert_eq!(url, "https://app/cb?x=1&code=a+b&state=s");
    }
}
