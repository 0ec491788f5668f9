//! What follows a correct password: the login state machine, as values.

use crate::auth::acr::Acr;

use serde::{Deserialize, Serialize};

/// Where a sign-in stands between its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// The password (or an existing session) is proven; a second factor is due.
    SecondFactor,
    /// The password is proven; the user must enrol a second factor first.
    Enroll,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::SecondFactor => "second_factor",
            Stage::Enroll => "enroll",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        match text {
            "second_factor" => Some(Stage::SecondFactor),
            "enroll" => Some(Stage::Enroll),
            _ => None,
        }
    }
}

/// What the user must still do after proving their password.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing: an `aal1` session.
    Done,
    Then(Stage),
}

/// The facts the decision rests on.
pub struct Facts {
    pub has_factor: bool,
    /// Set by an operator's reset: enrol again whatever the account's policy.
    pub must_enroll: bool,
    pub account_requires_mfa: bool,
    /// The relying party asked for `aal2`.
    pub wants_aal2: bool,
}

pub fn after_password(facts: &Facts) -> Next {
    if facts.has_factor {
        // A user with a factor is asked for it at every sign-in.
        Next::Then(Stage::SecondFactor)
    } else if facts.must_enroll || facts.account_requires_mfa || facts.wants_aal2 {
        Next::Then(Stage::Enroll)
    } else {
        Next::Done
    }
}

/// Whether a session has been through a second step: it is `aal2`, or an
/// email code that does not count for `aal2` was given in it.
pub fn second_step_done(acr: Acr, amr: &[String]) -> bool {
    acr == Acr::Aal2 || amr.iter().any(|m| m == "email")
}

/// `amr` for a password plus an email code: `email` (no RFC 8176 value
/// names it; it is not `otp`, which names an authenticator), with `mfa` only
/// where the account counts it for `aal2`.
pub fn amr_with_email(counted: bool) -> Vec<String> {
    let methods: &[&str] = if counted {
        &["pwd", "email", "mfa"]
    } else {
        &["pwd", "email"]
    };
    methods.iter().map(|m| m.to_string()).collect()
}

/// The `amr` value of a sign-in where a remembered device stood in for the
/// second factor (no RFC 8176 value names it).
pub const REMEMBERED_DEVICE: &str = "device";

/// `amr` for a password from a remembered device: `pwd device`, never the
/// factor the device once gave.
pub fn amr_with_device() -> Vec<String> {
    vec!["pwd".to_string(), REMEMBERED_DEVICE.to_string()]
}

/// `amr` values (RFC 8176) for a password plus a second factor.
pub fn amr_with_totp() -> Vec<String> {
    ["pwd", "otp", "mfa"].map(String::from).to_vec()
}

/// A backup code is no one-time-password device: `pwd` and `mfa` only.
pub fn amr_with_backup_code() -> Vec<String> {
    ["pwd", "mfa"].map(String::from).to_vec()
}

/// The `amr` of a session raised by a second step: the step's methods, but
/// `pwd` only where the session itself was made with the password (a
/// passkey-only session that gives a code has not typed one).
pub fn raised_amr(session_amr: &[String], step_amr: &[String]) -> Vec<String> {
    let had_password = session_amr.iter().any(|m| m == "pwd");
    step_amr
        .iter()
        .filter(|m| had_password || m.as_str() != "pwd")
        .cloned()
        .collect()
}

/// The level and `amr` of a session raised by a second step
/// (`raised_amr`); a step that does not count for `aal2` never lowers an
/// `aal2` session, which keeps its own methods.
pub fn raised(session_acr: Acr, session_amr: &[String], step_amr: &[String]) -> (Acr, Vec<String>) {
    let amr = raised_amr(session_amr, step_amr);
    let acr = Acr::of(&amr);
    if acr < session_acr {
        return (session_acr, session_amr.to_vec());
    }
    (acr, amr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_code_names_itself_and_counts_only_where_the_account_says() {
        let counted = amr_with_email(true);
        let not_counted = amr_with_email(false);
        assert!(!counted.contains(&"otp".to_string()));
        assert_eq!(Acr::of(&counted), Acr::Aal2);
        assert_eq!(Acr::of(&not_counted), Acr::Aal1);
        assert!(second_step_done(Acr::Aal1, &not_counted));
        assert!(!second_step_done(Acr::Aal1, &["pwd".to_string()]));
        assert_eq!(Acr::of(&amr_with_totp()), Acr::Aal2);
        assert_eq!(Acr::of(&amr_with_backup_code()), Acr::Aal2);
    }

    #[test]
    fn a_step_that_does_not_count_never_lowers_a_session() {
        let totp = amr_with_totp();
        assert_eq!(
            raised(Acr::Aal2, &totp, &amr_with_email(false)),
            (Acr::Aal2, totp.clone())
        );
        assert_eq!(
            raised(Acr::Aal1, &["pwd".to_string()], &amr_with_email(false)),
            (Acr::Aal1, amr_with_email(false))
        );
        assert_eq!(
            raised(Acr::Aal1, &amr_with_email(false), &totp),
            (Acr::Aal2, totp)
        );
    }

    #[test]
    fn a_raised_session_names_pwd_only_when_it_was_typed() {
        let of = |v: &[&str]| v.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        assert_eq!(
            raised_amr(&of(&["pwd"]), &amr_with_totp()),
            of(&["pwd", "otp", "mfa"])
        );
        assert_eq!(
            raised_amr(&of(&["hwk", "mfa"]), &amr_with_totp()),
            of(&["otp", "mfa"])
        );
        assert_eq!(
            raised_amr(&of(&["swk", "mfa"]), &amr_with_backup_code()),
            of(&["mfa"])
        );
    }

    fn facts(
        has_factor: bool,
        must_enroll: bool,
        account_requires_mfa: bool,
        wants_aal2: bool,
    ) -> Facts {
        Facts {
            has_factor,
            must_enroll,
            account_requires_mfa,
            wants_aal2,
        }
    }

    #[test]
    fn a_user_with_a_factor_always_gives_it() {
        for (a, b, c) in [(false, false, false), (true, true, true)] {
            assert_eq!(
                after_password(&facts(true, a, b, c)),
                Next::Then(Stage::SecondFactor)
            );
        }
    }

    #[test]
    fn policy_reset_or_step_up_makes_a_user_without_one_enrol() {
        assert_eq!(
            after_password(&facts(false, true, false, false)),
            Next::Then(Stage::Enroll)
        );
        assert_eq!(
            after_password(&facts(false, false, true, false)),
            Next::Then(Stage::Enroll)
        );
        assert_eq!(
            after_password(&facts(false, false, false, true)),
            Next::Then(Stage::Enroll)
        );
        assert_eq!(
            after_password(&facts(false, false, false, false)),
            Next::Done
        );
    }

    #[test]
    fn stages_round_trip() {
        for stage in [Stage::SecondFactor, Stage::Enroll] {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
        assert_eq!(Stage::parse("admin"), None);
    }
}
