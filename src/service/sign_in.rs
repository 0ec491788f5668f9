//! The password step of a sign-in: the password checked (throttled), then
//! what the user must still do, decided by `auth::login_flow` from the
//! user's factors, the account's policy and what the relying party asked.

use crate::app::AppState;
use crate::auth::login_flow::{after_password, Facts, Next, Stage};
use crate::auth::policy;
use crate::service::devices;
use crate::service::factors::{self, PasswordCheck};
use crate::store::{self, User};

/// What a password gave.
pub enum PasswordStep {
    /// Unknown user, wrong password or a disabled user: the same answer.
    Wrong,
    /// Too many recent failures for this user or this address.
    Throttled { until: i64 },
    /// Nothing more is due: an `aal1` sign-in.
    SignedIn(User),
    /// The password is proven; `Stage` is due next.
    Then(User, Stage),
    /// The password is proven and the browser is a remembered device of
    /// the user, standing in for the second factor.
    Remembered(User),
}

/// Checks `password` for `username` from `ip`, and decides what follows;
/// `device` is the browser's remembered-device secret, if any. A sign-in
/// within the grace period of the account's 2FA requirement is counted here.
pub async fn password_step(
    app: &AppState,
    username: &str,
    password: String,
    ip: &str,
    wants_aal2: bool,
    device: Option<&str>,
) -> Result<PasswordStep, store::Error> {
    let user = match username.is_empty() {
        true => None,
        false => app.store.user_by_username(username).await?,
    };
    let checked = factors::check_password(app, username, user.as_ref(), password, Some(ip));
    let user = match (checked.await?, user) {
        (PasswordCheck::Correct, Some(user)) => user,
        (PasswordCheck::Throttled { until }, _) => return Ok(PasswordStep::Throttled { until }),
        _ => return Ok(PasswordStep::Wrong),
    };
    let account = app.store.tenant_of(&user).await?;
    let level = factors::level::of(app, &user).await?;
    let facts = Facts {
        has_factor: level.any(),
        must_enroll: user.must_enroll,
        account_requires_mfa: policy::enrolment_required(
            &account,
            user.sign_ins_without_factor,
            app.clock.now(),
        ),
        wants_aal2,
    };
    let days = account.settings.remember_device_days;
    match after_password(&facts) {
        Next::Then(Stage::SecondFactor)
            if device.is_some()
                && level.reach_aal2()
                && devices::recognise(app, &user, days, device, Some(ip)).await? =>
        {
            Ok(PasswordStep::Remembered(user))
        }
        Next::Then(stage) => Ok(PasswordStep::Then(user, stage)),
        Next::Done => {
            if account.require_mfa {
                app.store.count_sign_in_without_factor(&user.id).await?;
            }
            Ok(PasswordStep::SignedIn(user))
        }
    }
}
