//! What protects a user, loaded once for a page: the factor summary (one
//! query), the security keys and passkeys (one query) and the user's
//! account (tenant). The second-factor page and `/account` read it; the
//! rules over it are pure and tested here.

use super::level::{self, Factors};
use crate::app::AppState;
use crate::auth::factor_kind::FactorKind;
use crate::store::{self, FactorSummary, Tenant, User, WebauthnCredential};

pub struct FactorOverview {
    pub summary: FactorSummary,
    pub keys: Vec<WebauthnCredential>,
    pub tenant: Tenant,
}

impl FactorOverview {
    pub async fn load(app: &AppState, user: &User) -> Result<FactorOverview, store::Error> {
        Ok(FactorOverview {
            summary: app.store.factor_summary(&user.id).await?,
            keys: app.store.webauthn_credentials(&user.id).await?,
            tenant: app.store.tenant_of(user).await?,
        })
    }

    /// Whether the account allows the factor kind `kind`.
    pub fn allows(&self, kind: FactorKind) -> bool {
        self.tenant.allows(kind)
    }

    pub fn has_totp(&self) -> bool {
        self.summary.totp.is_some()
    }

    /// What these factors reach (`level::from_parts`, as `level::of`).
    pub fn level(&self) -> Factors {
        let app_or_key = self.has_totp() || !self.keys.is_empty();
        let phone = self.summary.phone.is_some();
        level::from_parts(app_or_key, self.summary.email_codes_on, phone, &self.tenant)
    }

    /// A verified phone, where the account allows SMS codes at sign-in.
    pub fn sms_codes_usable(&self) -> bool {
        self.summary.phone.is_some() && self.allows(FactorKind::Sms)
    }

    /// The recovery phone of a user whose only second factor is the app
    /// (with another, they give that instead).
    pub fn recovery_phone(&self) -> Option<&str> {
        let only_the_app = self.has_totp()
            && self.keys.is_empty()
            && !self.summary.email_codes_on
            && !self.sms_codes_usable();
        match (&self.summary.phone, only_the_app) {
            (Some((phone, _)), true) => Some(phone),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{TenantSettings, TotpInUse};

    fn overview(kinds: &[&str], summary: FactorSummary, keys: usize) -> FactorOverview {
        let key = |i: usize| WebauthnCredential {
            id: format!("k{i}"),
            user_id: "u".into(),
            credential_id: format!("c{i}"),
            kind: "security_key".into(),
            name: "Key".into(),
            credential: String::new(),
            counter: 0,
            created_at: 0,
            last_used_at: None,
        };
        FactorOverview {
            summary,
            keys: (0..keys).map(key).collect(),
            tenant: Tenant {
                id: "a".into(),
                name: "acme".into(),
                require_mfa: false,
                factors: kinds.iter().map(|k| k.to_string()).collect(),
                created_at: 0,
                settings: TenantSettings::default(),
            },
        }
    }

    fn with_app_and_phone() -> FactorSummary {
        FactorSummary {
            totp: Some(TotpInUse {
                since: 10,
                last_used_at: None,
            }),
            phone: Some(("+15550100".into(), 20)),
            ..FactorSummary::default()
        }
    }

    #[test]
    fn the_phone_recovers_only_where_the_app_is_the_only_factor() {
        let only_app = overview(&["totp"], with_app_and_phone(), 0);
        assert_eq!(only_app.recovery_phone(), Some("+15550100"));
        assert!(!only_app.sms_codes_usable());
        // With a key, or with SMS codes allowed, the phone is not a way round.
        assert_eq!(
            overview(&["totp"], with_app_and_phone(), 1).recovery_phone(),
            None
        );
        let sms = overview(&["totp", "sms"], with_app_and_phone(), 0);
        assert!(sms.sms_codes_usable());
        assert_eq!(sms.recovery_phone(), None);
    }

    #[test]
    fn the_level_follows_the_one_rule() {
        let nothing = overview(&["totp", "sms"], FactorSummary::default(), 0);
        assert!(!nothing.level().any());
        assert!(overview(&["totp"], FactorSummary::default(), 1)
            .level()
            .reach_aal2());
        // A phone is strong only where the account allows SMS codes.
        let phone_only = FactorSummary {
            totp: None,
            ..with_app_and_phone()
        };
        assert!(!overview(&["totp"], phone_only.clone(), 0).level().any());
        assert!(overview(&["sms"], phone_only, 0).level().reach_aal2());
    }
}
