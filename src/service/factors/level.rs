//! Which level a user's second factors reach, read from the factors
//! themselves on every call, never from a session. An authenticator app, a
//! security key or passkey, and SMS codes where the account allows them
//! reach `aal2`; an email code reaches it only where the account counts it
//! (NIST SP 800-63B-4 does not count email as an out-of-band channel): else
//! it is a second step at `aal1`, reported as such.

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::factor_kind::FactorKind;
use crate::auth::login_flow;
use crate::store::{self, Tenant, User};

/// The second steps a user has, as one read of their factors and account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Factors {
    /// An authenticator app, a security key or passkey, or SMS codes.
    strong: bool,
    /// Email codes are on.
    email_on: bool,
    /// The account counts an email code for `aal2`.
    email_counts: bool,
}

impl Factors {
    pub fn new(strong: bool, email_on: bool, email_counts: bool) -> Factors {
        Factors {
            strong,
            email_on,
            email_counts,
        }
    }

    /// Whether the user has any second step: the password alone never suffices.
    pub fn any(self) -> bool {
        self.strong || self.email_on
    }

    /// Whether the user has a factor that reaches `aal2`.
    pub fn reach_aal2(self) -> bool {
        self.strong || (self.email_on && self.email_counts)
    }

    /// Whether the account counts an email code for `aal2`.
    pub fn email_counts(self) -> bool {
        self.email_counts
    }

    /// Whether the second step offers (and accepts) an email code: where it
    /// counts, or where it is the user's only factor. A user with a factor
    /// that reaches `aal2` gives that one when email does not count.
    pub fn email_offered(self) -> bool {
        self.email_on && (self.email_counts || !self.strong)
    }

    /// Whether a session with `acr` and `amr` has the highest level these
    /// factors reach, as changing a factor and the console need: a factor
    /// given in it, not a remembered device standing in for one.
    pub fn met_by(self, acr: Acr, amr: &[String]) -> bool {
        if amr.iter().any(|m| m == login_flow::REMEMBERED_DEVICE) && self.any() {
            false
        } else if self.reach_aal2() {
            acr == Acr::Aal2
        } else if self.any() {
            login_flow::second_step_done(acr, amr)
        } else {
            true
        }
    }
}

/// The user's factors now.
pub async fn of(app: &AppState, user: &User) -> Result<Factors, store::Error> {
    let (app_or_key, email_on, phone) = app.store.factor_presence(&user.id).await?;
    let tenant = app.store.tenant_of(user).await?;
    Ok(from_parts(app_or_key, email_on, phone, &tenant))
}

/// The one rule from what a user has to what it reaches: an app or a key,
/// or a verified phone where the account allows SMS codes, is strong;
/// email codes count as the account says.
pub fn from_parts(app_or_key: bool, email_on: bool, phone: bool, tenant: &Tenant) -> Factors {
    let sms = phone && tenant.allows(FactorKind::Sms);
    Factors::new(
        app_or_key || sms,
        email_on,
        tenant.settings.email_codes_aal2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(v: &[&str]) -> Vec<String> {
        v.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn an_email_code_reaches_aal2_only_where_it_counts() {
        assert!(Factors::new(false, true, true).reach_aal2());
        assert!(!Factors::new(false, true, false).reach_aal2());
        assert!(Factors::new(false, true, false).any());
        assert!(Factors::new(true, false, false).reach_aal2());
        assert!(!Factors::new(false, false, true).any());
    }

    #[test]
    fn email_is_offered_unless_a_counted_factor_should_be_given() {
        assert!(Factors::new(false, true, false).email_offered());
        assert!(Factors::new(true, true, true).email_offered());
        assert!(!Factors::new(true, true, false).email_offered());
        assert!(!Factors::new(true, false, true).email_offered());
    }

    #[test]
    fn a_session_meets_the_highest_level_the_factors_reach() {
        let email_step = of(&["pwd", "email"]);
        let password = of(&["pwd"]);
        let totp = of(&["pwd", "otp", "mfa"]);
        // Email only, not counted: the email step is the most there is.
        let email_only = Factors::new(false, true, false);
        assert!(email_only.met_by(Acr::Aal1, &email_step));
        assert!(!email_only.met_by(Acr::Aal1, &password));
        // With an app as well, only aal2 will do.
        let with_app = Factors::new(true, true, false);
        assert!(!with_app.met_by(Acr::Aal1, &email_step));
        assert!(with_app.met_by(Acr::Aal2, &totp));
        // No factor: any session.
        assert!(Factors::new(false, false, true).met_by(Acr::Aal1, &password));
    }
}
