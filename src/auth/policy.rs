//! An account's policies over the provider's defaults: when enrolment in 2FA
//! is due, how long sessions last, when the second step locks; and the
//! checks on what administrators may set.

use crate::auth::factor_kind::FactorKind;
use crate::config::Config;
use crate::store::{Tenant, TenantSettings};

/// How long a new session lasts.
#[derive(Debug, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle_secs: i64,
    pub lifetime_secs: i64,
}

pub fn session_limits(config: &Config, settings: &TenantSettings) -> SessionLimits {
    SessionLimits {
        idle_secs: settings
            .session_idle_secs
            .unwrap_or(config.session_idle_secs),
        lifetime_secs: settings
            .session_lifetime_secs
            .unwrap_or(config.session_lifetime_secs),
    }
}

/// Consecutive failed codes that lock the second step, and the first lock's length.
#[derive(Debug, PartialEq, Eq)]
pub struct LockPolicy {
    pub failure_limit: i64,
    pub lockout_secs: i64,
}

pub fn lock_policy(config: &Config, settings: &TenantSettings) -> LockPolicy {
    LockPolicy {
        failure_limit: settings
            .mfa_failure_limit
            .unwrap_or(config.mfa_failure_limit),
        lockout_secs: settings.mfa_lockout_secs.unwrap_or(config.mfa_lockout_secs),
    }
}

/// Whether the account's requirement of 2FA makes a member without a factor
/// enrol at this sign-in, or a grace period still lets them in without one.
/// `sign_ins_without_factor` counts their sign-ins since it became required.
pub fn enrolment_required(account: &Tenant, sign_ins_without_factor: i64, now: i64) -> bool {
    if !account.require_mfa {
        return false;
    }
    let s = &account.settings;
    if s.mfa_grace_days > 0 {
        let since = s.mfa_required_at.unwrap_or(account.created_at);
        return now >= since + s.mfa_grace_days * 86_400;
    }
    if s.mfa_grace_sign_ins > 0 {
        return sign_ins_without_factor >= s.mfa_grace_sign_ins;
    }
    true
}

/// The grace period an administrator chose.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Grace {
    None,
    Days(i64),
    SignIns(i64),
}

/// Settings as submitted, in the units the console shows.
#[derive(Debug, Default)]
pub struct SettingsInput<'a> {
    pub require_mfa: bool,
    /// `none`, `days` or `sign_ins`.
    pub grace: &'a str,
    pub grace_days: &'a str,
    pub grace_sign_ins: &'a str,
    /// Minutes; empty for the provider's setting.
    pub idle_minutes: &'a str,
    /// Hours; empty for the provider's setting.
    pub lifetime_hours: &'a str,
    pub failure_limit: &'a str,
    /// Minutes; empty for the provider's setting.
    pub lockout_minutes: &'a str,
    pub require_recovery_phone: bool,
    pub email_codes_aal2: bool,
    /// Days; empty for off.
    pub remember_device_days: &'a str,
}

/// A whole number in `range`, or `None` for an empty field.
fn number(
    text: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{what} must be a whole number from {} to {}.",
            range.start(),
            range.end()
        )),
    }
}

/// The factor kinds an account's members may use, in the console's order.
pub const FACTOR_KINDS: [&str; 5] = [
    FactorKind::Totp.as_str(),
    FactorKind::Webauthn.as_str(),
    FactorKind::Passkey.as_str(),
    FactorKind::Email.as_str(),
    FactorKind::Sms.as_str(),
];

/// Checks the factor kinds chosen for an account: members must be able to
/// enrol one while signing in, so the authenticator app or security keys.
pub fn parse_factors(chosen: &[&str]) -> Result<Vec<String>, String> {
    let kinds: Vec<String> = FACTOR_KINDS
        .iter()
        .filter(|k| chosen.contains(k))
        .map(|k| k.to_string())
        .collect();
    let enrollable = [FactorKind::Totp, FactorKind::Webauthn].map(FactorKind::as_str);
    if !kinds.iter().any(|k| enrollable.contains(&k.as_str())) {
        return Err(
            "Allow at least one second factor that members can set up while signing in: the authenticator app or security keys."
                .into(),
        );
    }
    Ok(kinds)
}

/// The longest an account may remember a device.
pub const MAX_REMEMBER_DEVICE_DAYS: i64 = 90;

/// Checks submitted settings; the error names the field and the allowed values.
/// `current` keeps what the form does not change (when 2FA became required).
pub fn parse_settings(
    input: &SettingsInput<'_>,
    current: &TenantSettings,
    config: &Config,
) -> Result<TenantSettings, String> {
    let grace = match input.grace {
        "" | "none" => Grace::None,
        "days" => Grace::Days(
            number(input.grace_days, 1..=365, "The grace period in days")?
                .ok_or("Enter the number of days of the grace period.")?,
        ),
        "sign_ins" => Grace::SignIns(
            number(
                input.grace_sign_ins,
                1..=100,
                "The grace period in sign-ins",
            )?
            .ok_or("Enter the number of sign-ins of the grace period.")?,
        ),
        _ => return Err("Choose a grace period.".into()),
    };
    let idle = number(input.idle_minutes, 5..=43_200, "The idle time in minutes")?;
    let lifetime = number(
        input.lifetime_hours,
        1..=8_760,
        "The session lifetime in hours",
    )?;
    let failure_limit = number(input.failure_limit, 3..=20, "The failure limit")?;
    let lockout = number(input.lockout_minutes, 1..=1_440, "The cooldown in minutes")?;
    let remember = number(
        input.remember_device_days,
        0..=MAX_REMEMBER_DEVICE_DAYS,
        "The days a device is remembered",
    )?;
    let settings = TenantSettings {
        mfa_required_at: current.mfa_required_at,
        mfa_grace_days: match grace {
            Grace::Days(days) => days,
            _ => 0,
        },
        mfa_grace_sign_ins: match grace {
            Grace::SignIns(n) => n,
            _ => 0,
        },
        session_idle_secs: idle.map(|m| m * 60),
        session_lifetime_secs: lifetime.map(|h| h * 3600),
        mfa_failure_limit: failure_limit,
        mfa_lockout_secs: lockout.map(|m| m * 60),
        require_recovery_phone: input.require_recovery_phone,
        email_codes_aal2: input.email_codes_aal2,
        remember_device_days: remember.unwrap_or(0),
    };
    let limits = session_limits(config, &settings);
    if limits.idle_secs > limits.lifetime_secs {
        return Err("The idle time cannot be longer than the session lifetime.".into());
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_keeps_at_least_one_factor_besides_passkeys() {
        assert_eq!(parse_factors(&["sms", "totp"]).unwrap(), ["totp", "sms"]);
        assert!(parse_factors(&["passkey"]).is_err());
        assert!(parse_factors(&[]).is_err());
        assert!(
            parse_factors(&["email", "sms"]).is_err(),
            "nothing to enrol at sign-in"
        );
        assert_eq!(parse_factors(&["webauthn", "bogus"]).unwrap(), ["webauthn"]);
    }

    fn account(require_mfa: bool, settings: TenantSettings) -> Tenant {
        Tenant {
            id: "a".into(),
            name: "a".into(),
            require_mfa,
            factors: vec![],
            created_at: 0,
            settings,
        }
    }

    #[test]
    fn the_account_setting_wins_over_the_provider_default() {
        let config = Config::default();
        let defaults = session_limits(&config, &TenantSettings::default());
        assert_eq!(defaults.idle_secs, config.session_idle_secs);
        let own = TenantSettings {
            session_idle_secs: Some(600),
            mfa_failure_limit: Some(3),
            ..Default::default()
        };
        assert_eq!(session_limits(&config, &own).idle_secs, 600);
        assert_eq!(lock_policy(&config, &own).failure_limit, 3);
        assert_eq!(
            lock_policy(&config, &own).lockout_secs,
            config.mfa_lockout_secs
        );
    }

    #[test]
    fn enrolment_is_due_when_required_and_the_grace_is_over() {
        assert!(!enrolment_required(
            &account(false, Default::default()),
            0,
            0
        ));
        assert!(enrolment_required(&account(true, Default::default()), 0, 0));
        let days = TenantSettings {
            mfa_required_at: Some(1_000),
            mfa_grace_days: 2,
            ..Default::default()
        };
        assert!(!enrolment_required(
            &account(true, days.clone()),
            0,
            1_000 + 2 * 86_400 - 1
        ));
        assert!(enrolment_required(
            &account(true, days),
            0,
            1_000 + 2 * 86_400
        ));
        let sign_ins = TenantSettings {
            mfa_grace_sign_ins: 3,
            ..Default::default()
        };
        assert!(!enrolment_required(&account(true, sign_ins.clone()), 2, 0));
        assert!(enrolment_required(&account(true, sign_ins), 3, 0));
    }

    #[test]
    fn settings_are_parsed_in_the_units_shown() {
        let config = Config::default();
        let input = SettingsInput {
            require_mfa: true,
            grace: "sign_ins",
            grace_sign_ins: "3",
            idle_minutes: "30",
            lifetime_hours: "",
            failure_limit: "4",
            lockout_minutes: "10",
            ..Default::default()
        };
        let settings = parse_settings(&input, &TenantSettings::default(), &config).unwrap();
        assert_eq!(settings.mfa_grace_sign_ins, 3);
        assert_eq!(settings.mfa_grace_days, 0);
        assert_eq!(settings.session_idle_secs, Some(1800));
        assert_eq!(settings.session_lifetime_secs, None);
        assert_eq!(settings.mfa_lockout_secs, Some(600));
    }

    #[test]
    fn bad_settings_say_what_is_allowed() {
        let config = Config::default();
        let current = TenantSettings::default();
        let bad = |input: SettingsInput| parse_settings(&input, &current, &config).unwrap_err();
        assert_eq!(
            bad(SettingsInput {
                failure_limit: "1",
                ..Default::default()
            }),
            "The failure limit must be a whole number from 3 to 20."
        );
        assert!(bad(SettingsInput {
            grace: "days",
            ..Default::default()
        })
        .contains("number of days"));
        assert!(bad(SettingsInput {
            idle_minutes: "abc",
            ..Default::default()
        })
        .contains("idle time"));
        assert!(bad(SettingsInput {
            grace: "forever",
            ..Default::default()
        })
        .contains("Choose"));
        assert!(bad(SettingsInput {
            idle_minutes: "600",
            lifetime_hours: "2",
            ..Default::default()
        })
        .contains("cannot be longer"));
    }
}
