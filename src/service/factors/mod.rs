//! Authentication factors as the rest of the provider uses them: the password
//! check (with its throttle), second-factor codes (TOTP or backup) with the
//! lock-out, enrolling TOTP, regenerating backup codes, and the operator's
//! reset. Ties `auth` (pure) to `store` with the vault. Security keys and
//! passkeys are in `security_keys`.

pub mod binding;
pub mod contact_codes;
pub mod level;
pub mod security_keys;

use crate::app::AppState;
use crate::auth::totp::{self, TotpError};
use crate::auth::{backup_codes, policy, secret};
use crate::store::{self, NewAuditEvent, TotpFactor, User};

/// The outcome of a password check.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    Correct,
    Wrong,
    /// Too many recent failures for this user or this address.
    Throttled {
        until: i64,
    },
}

fn password_keys(username: &str, ip: Option<&str>) -> (String, Option<String>) {
    (
        format!("pwd:user:{}", username.to_lowercase()),
        ip.map(|ip| format!("pwd:ip:{ip}")),
    )
}

/// A limit on failed attempts for one key: `limit` per `window_secs`, then
/// locked for `lock_secs`.
#[derive(Clone, Copy)]
struct Limit {
    limit: i64,
    window_secs: i64,
    lock_secs: i64,
}

/// Where an attempt stands before it is checked.
enum Gate {
    /// The attempt may go ahead; it is the `n`-th in the window.
    Open(i64),
    Locked {
        until: i64,
    },
}

/// Counts the attempt first, so that concurrent attempts cannot all pass
/// under the limit: at most `limit` are ever checked per lock period.
async fn open_gate(
    app: &AppState,
    key: &str,
    limit: Limit,
    now: i64,
) -> Result<Gate, store::Error> {
    if let Some(until) = app.store.locked_until(key, now).await? {
        return Ok(Gate::Locked { until });
    }
    let (attempt, locked_until) = app.store.count_attempt(key, now, limit.window_secs).await?;
    if let Some(until) = locked_until.filter(|until| *until > now) {
        return Ok(Gate::Locked { until });
    }
    if attempt > limit.limit {
        let until = now + limit.lock_secs;
        app.store.lock(key, until).await?;
        return Ok(Gate::Locked { until });
    }
    Ok(Gate::Open(attempt))
}

/// After a failed attempt: locks the key when it was the last one allowed.
async fn after_failure(
    app: &AppState,
    key: &str,
    attempt: i64,
    limit: Limit,
    now: i64,
) -> Result<Option<i64>, store::Error> {
    if attempt < limit.limit {
        return Ok(None);
    }
    // The checked attempt that reached the limit: each lock since the last
    // success lasts twice as long as the one before.
    let until = app.store.lock_escalating(key, now, limit.lock_secs).await?;
    Ok(Some(until))
}

/// Checks a password for `username` (who may not exist: the dummy hash makes
/// that take as long), throttled per user and per client IP.
pub async fn check_password(
    app: &AppState,
    username: &str,
    user: Option<&User>,
    password: String,
    ip: Option<&str>,
) -> Result<PasswordCheck, store::Error> {
    let now = app.clock.now();
    let config = &app.config;
    let window_secs = config.password_failure_window_secs;
    let by_user = Limit {
        limit: config.password_failure_limit,
        window_secs,
        lock_secs: window_secs,
    };
    let by_ip = Limit {
        limit: config.password_ip_failure_limit,
        window_secs,
        lock_secs: window_secs,
    };
    let (user_key, ip_key) = password_keys(username, ip);
    // The address first: a throttled address cannot run up a user's count.
    let mut gates: Vec<(String, Limit)> =
        ip_key.clone().map(|key| (key, by_ip)).into_iter().collect();
    gates.push((user_key.clone(), by_user));
    let mut attempts = Vec::new();
    for (key, limit) in &gates {
        match open_gate(app, key, *limit, now).await? {
            Gate::Open(attempt) => attempts.push(attempt),
            Gate::Locked { until } => {
                // The attempts already counted for this one were never checked.
                for (counted, _) in gates.iter().take(attempts.len()) {
                    app.store.forgive_attempt(counted).await?;
                }
                return Ok(PasswordCheck::Throttled { until });
            }
        }
    }
    let stored = user.map_or_else(|| app.dummy_hash.to_string(), |u| u.password_hash.clone());
    let matches = app
        .hash_blocking(move || crate::auth::password::verify(&password, &stored))
        .await
        .map_err(|e| store::Error::Corrupt(format!("password check: {e}")))?;
    if matches && user.is_some_and(|u| !u.is_disabled) {
        app.store.clear_failures(&user_key).await?;
        if let Some(ip_key) = &ip_key {
            app.store.forgive_attempt(ip_key).await?;
        }
        return Ok(PasswordCheck::Correct);
    }
    let mut locked = false;
    for ((key, limit), attempt) in gates.iter().zip(attempts) {
        locked |= after_failure(app, key, attempt, *limit, now)
            .await?
            .is_some();
    }
    app.store
        .audit(NewAuditEvent {
            kind: if locked {
                "password_throttled"
            } else {
                "password_failed"
            },
            account_id: user.map(|u| u.account_id.as_str()),
            user_id: user.map(|u| u.id.as_str()),
            actor_id: None,
            ip,
            detail: serde_json::json!({}),
            now,
        })
        .await?;
    Ok(PasswordCheck::Wrong)
}

/// How a code was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Totp,
    BackupCode,
    /// A security key or passkey; `synced` when it may live on several devices.
    Key {
        synced: bool,
    },
    /// A code sent to the user's verified email address; `counted` when
    /// the account counts it for `aal2`.
    EmailCode {
        counted: bool,
    },
    /// A code sent by SMS to the user's verified phone.
    SmsCode,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::BackupCode => "backup_code",
            Method::Key { .. } => "security_key",
            Method::EmailCode { .. } => "email_code",
            Method::SmsCode => "sms_code",
        }
    }

    pub fn amr(self) -> Vec<String> {
        match self {
            Method::Totp => crate::auth::login_flow::amr_with_totp(),
            Method::BackupCode => crate::auth::login_flow::amr_with_backup_code(),
            Method::Key { synced } => crate::auth::webauthn::amr(synced, true),
            Method::EmailCode { counted } => crate::auth::login_flow::amr_with_email(counted),
            Method::SmsCode => ["pwd", "otp", "sms", "mfa"].map(String::from).to_vec(),
        }
    }
}

/// The result of presenting a code.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Accepted(Method),
    /// Wrong, malformed or already used: counts as a failure.
    Refused(Refusal),
    /// The second step is locked until this time; even a right code is refused.
    Locked {
        until: i64,
    },
}

/// Why a code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Wrong,
    /// Right, but its time step (or the backup code) was used before.
    AlreadyUsed,
    /// The key's challenge is unknown, expired, or was answered before.
    StaleChallenge,
    /// The key's signature counter went backwards: a cloned authenticator.
    Cloned,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::Wrong => "wrong code",
            Refusal::AlreadyUsed => "code already used",
            Refusal::StaleChallenge => "challenge expired or already answered",
            Refusal::Cloned => "signature counter went backwards",
        }
    }
}

pub(crate) fn lock_key(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// Consecutive failures are counted over this window (a success clears them).
const FAILURE_WINDOW_SECS: i64 = 24 * 3600;

/// Checks a code for `user`, with the lock-out: failures are counted in the
/// database, the limit locks the second step, a success clears the count.
pub async fn check_code(
    app: &AppState,
    user: &User,
    code: &str,
    ip: Option<&str>,
) -> Result<Check, store::Error> {
    gated(app, user, ip, |now| try_code(app, user, code, now)).await
}

/// Runs one second-factor attempt (`attempt`, given the time) behind the
/// lock-out: counted first, cleared on success, locking at the limit.
pub async fn gated<F, Fut>(
    app: &AppState,
    user: &User,
    ip: Option<&str>,
    attempt_with: F,
) -> Result<Check, store::Error>
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = Result<Result<Method, Refusal>, store::Error>>,
{
    let now = app.clock.now();
    let key = lock_key(&user.id);
    let account = app.store.account_of(user).await?;
    let policy = policy::lock_policy(&app.config, &account.settings);
    let limit = Limit {
        limit: policy.failure_limit,
        window_secs: FAILURE_WINDOW_SECS,
        lock_secs: policy.lockout_secs,
    };
    let attempt = match open_gate(app, &key, limit, now).await? {
        Gate::Open(attempt) => attempt,
        Gate::Locked { until } => {
            audit(
                app,
                "second_factor_refused_locked",
                user,
                ip,
                serde_json::json!({}),
            )
            .await?;
            return Ok(Check::Locked { until });
        }
    };
    let reason = match attempt_with(now).await? {
        Ok(method) => {
            app.store.clear_failures(&key).await?;
            audit(
                app,
                "second_factor_ok",
                user,
                ip,
                serde_json::json!({ "method": method.name() }),
            )
            .await?;
            return Ok(Check::Accepted(method));
        }
        Err(reason) => reason,
    };
    audit(
        app,
        "second_factor_failed",
        user,
        ip,
        serde_json::json!({ "reason": reason.reason() }),
    )
    .await?;
    if let Some(until) = after_failure(app, &key, attempt, limit, now).await? {
        audit(
            app,
            "second_factor_locked",
            user,
            ip,
            serde_json::json!({ "until": until }),
        )
        .await?;
        tracing::warn!(user_id = %user.id, "second factor locked after repeated failures");
        return Ok(Check::Locked { until });
    }
    Ok(Check::Refused(reason))
}

/// The code checked against the user's factors, without the lock-out.
async fn try_code(
    app: &AppState,
    user: &User,
    code: &str,
    now: i64,
) -> Result<Result<Method, Refusal>, store::Error> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == totp::DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
        let by_app = match app.store.active_totp(&user.id).await? {
            Some(factor) => match unseal(app, &factor) {
                Some(secret) => match totp::verify(&secret, &digits, now, factor.last_step) {
                    Ok(step) if app.store.use_totp_step(&factor.id, step, now).await? => {
                        Ok(Method::Totp)
                    }
                    Ok(_) | Err(TotpError::Replayed) => Err(Refusal::AlreadyUsed),
                    Err(_) => Err(Refusal::Wrong),
                },
                None => Err(Refusal::Wrong),
            },
            None => Err(Refusal::Wrong),
        };
        if by_app != Err(Refusal::Wrong) {
            return Ok(by_app);
        }
        use contact_codes::Purpose;
        let factors = level::of(app, user).await?;
        if factors.email_offered()
            && contact_codes::take(app, user, Purpose::EmailSignIn, &digits)
                .await?
                .is_some()
        {
            let counted = factors.email_counts();
            return Ok(Ok(Method::EmailCode { counted }));
        }
        if sms_codes_usable(app, user).await?
            && contact_codes::take(app, user, Purpose::SmsSignIn, &digits)
                .await?
                .is_some()
        {
            return Ok(Ok(Method::SmsCode));
        }
        return Ok(Err(Refusal::Wrong));
    }
    match backup_codes::normalize(code) {
        Some(normalized) => {
            let tag = app.vault.tag(&normalized);
            Ok(if app.store.use_backup_code(&user.id, &tag, now).await? {
                Ok(Method::BackupCode)
            } else {
                Err(Refusal::Wrong)
            })
        }
        None => Ok(Err(Refusal::Wrong)),
    }
}

fn unseal(app: &AppState, factor: &TotpFactor) -> Option<Vec<u8>> {
    match app.vault.unseal(&factor.secret_enc, &factor.user_id) {
        Ok(secret) => Some(secret),
        Err(err) => {
            tracing::error!(%err, user_id = %factor.user_id, "a TOTP secret does not open");
            None
        }
    }
}

/// An enrolment just started for `user`: what the enrolment page shows.
pub struct Enrolment {
    pub provisioning: totp::Provisioning,
    pub qr_svg: String,
}

/// The enrolment page's secret: the user's enrolment begun within a pending
/// sign-in's lifetime, shown again, or a fresh one. Showing the page is safe
/// to repeat (a reload, or a link followed from another site, never replaces
/// a secret the user is scanning); a secret older than that is never confirmed.
pub async fn enrolment(app: &AppState, user: &User) -> Result<Enrolment, store::Error> {
    let now = app.clock.now();
    let current = fresh_pending_totp(app, user, now).await?;
    let secret = match current.and_then(|p| unseal(app, &p)) {
        Some(secret) => secret,
        None => new_enrolment(app, user, now).await?,
    };
    let account = app.store.account_of(user).await?;
    let label = format!("{} ({})", user.username, account.name);
    let provisioning = totp::provisioning(&secret, &app.config.totp_issuer, &label)
        .map_err(|e| store::Error::Corrupt(e.to_string()))?;
    let qr_svg = qrcode::QrCode::new(provisioning.url.as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .map_err(|e| store::Error::Corrupt(format!("QR code: {e}")))?;
    Ok(Enrolment {
        provisioning,
        qr_svg,
    })
}

async fn new_enrolment(app: &AppState, user: &User, now: i64) -> Result<Vec<u8>, store::Error> {
    let secret = totp::new_secret();
    let id = secret::random_id();
    app.store
        .start_totp_enrolment(&id, &user.id, &app.vault.seal(&secret, &user.id), now)
        .await?;
    Ok(secret)
}

/// The user's enrolment under way, if it began within a pending sign-in's lifetime.
async fn fresh_pending_totp(
    app: &AppState,
    user: &User,
    now: i64,
) -> Result<Option<TotpFactor>, store::Error> {
    let fresh_since = now - app.config.pending_login_lifetime_secs;
    Ok(app
        .store
        .pending_totp(&user.id)
        .await?
        .filter(|p| p.created_at > fresh_since))
}

/// Confirms the pending enrolment with a code from the app. On success the
/// credential is active and these are the new backup codes, shown once.
pub async fn confirm_enrolment(
    app: &AppState,
    user: &User,
    code: &str,
    ip: Option<&str>,
) -> Result<Result<Vec<String>, &'static str>, store::Error> {
    let now = app.clock.now();
    let Some(pending) = fresh_pending_totp(app, user, now).await? else {
        return Ok(Err("This setup has expired. Scan the new code below."));
    };
    let Some(secret) = unseal(app, &pending) else {
        return Ok(Err("This setup has expired. Scan the new code below."));
    };
    let step = match totp::verify(&secret, code, now, pending.last_step) {
        Ok(step) => step,
        Err(TotpError::Malformed) => {
            return Ok(Err("Enter the 6-digit code from your authenticator app."))
        }
        Err(_) => {
            return Ok(Err(
                "That code is not right. Check the time on your phone and try again.",
            ))
        }
    };
    let codes = backup_codes::generate(app.config.backup_code_count);
    let tags = tags(app, &codes);
    if !app
        .store
        .confirm_totp(&pending.id, &user.id, step, &tags, now)
        .await?
    {
        return Ok(Err("This setup has expired. Scan the new code below."));
    }
    audit(app, "totp_enrolled", user, ip, serde_json::json!({})).await?;
    Ok(Ok(codes))
}

fn tags(app: &AppState, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .map(|c| {
            app.vault
                .tag(&backup_codes::normalize(c).expect("generated codes are well formed"))
        })
        .collect()
}

/// Replaces all backup codes; returns the new ones, shown once.
pub async fn regenerate_backup_codes(
    app: &AppState,
    user: &User,
    ip: Option<&str>,
) -> Result<Vec<String>, store::Error> {
    let codes = backup_codes::generate(app.config.backup_code_count);
    app.store
        .replace_backup_codes(&user.id, &tags(app, &codes), app.clock.now())
        .await?;
    audit(
        app,
        "backup_codes_regenerated",
        user,
        ip,
        serde_json::json!({}),
    )
    .await?;
    Ok(codes)
}

/// Whether the user has a second factor in force: an authenticator app, a
/// security key or a passkey, SMS codes where the account allows them, or
/// email codes (`level::Factors::any`). Read from the factors themselves on
/// every call, never from a session.
pub async fn has_factor(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(level::of(app, user).await?.any())
}

/// Whether the user may give a code sent by SMS at every sign-in: they have
/// a verified phone, and their account enables SMS as a second factor (NIST
/// SP 800-63B restricts it; it is off by default).
pub async fn sms_codes_usable(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(
        app.store.phone_state(&user.id).await?.is_some()
            && account_allows(app, user, "sms").await?,
    )
}

/// Whether the user turned email codes on (while their account allowed
/// them; a later change of the account's kinds stops new ones, not this
/// one, so that nobody is left with only a password).
pub async fn email_codes_on(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(app.store.email_state(&user.id).await?.1)
}

/// Whether the second step offers the user an email code
/// (`level::Factors::email_offered`).
pub async fn email_codes_offered(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(level::of(app, user).await?.email_offered())
}

/// The recovery phone of a user who may recover with it: their only second
/// factor is the authenticator app (with another, they give that instead).
pub async fn recovery_phone(app: &AppState, user: &User) -> Result<Option<String>, store::Error> {
    let only_the_app = has_totp(app, user).await?
        && app.store.webauthn_credentials(&user.id).await?.is_empty()
        && !email_codes_on(app, user).await?
        && !sms_codes_usable(app, user).await?;
    if !only_the_app {
        return Ok(None);
    }
    Ok(app
        .store
        .phone_state(&user.id)
        .await?
        .map(|(phone, _)| phone))
}

/// Whether the user's account allows the factor kind `kind`.
pub async fn account_allows(app: &AppState, user: &User, kind: &str) -> Result<bool, store::Error> {
    let account = app.store.account_of(user).await?;
    Ok(account.factors.iter().any(|f| f == kind))
}

/// Whether the user has an authenticator app set up.
pub async fn has_totp(app: &AppState, user: &User) -> Result<bool, store::Error> {
    Ok(app.store.active_totp(&user.id).await?.is_some())
}

/// Turns the user's authenticator app off (self-service, after the checks);
/// the backup codes go too unless a security key remains.
pub async fn disable(app: &AppState, user: &User, ip: Option<&str>) -> Result<(), store::Error> {
    app.store.remove_totp(&user.id).await?;
    audit(
        app,
        "second_factor_disabled",
        user,
        ip,
        serde_json::json!({ "method": "totp" }),
    )
    .await
}

/// The operator's and the console's reset: every factor removed, sessions
/// ended, tokens revoked, the lock cleared, enrolment due at next sign-in.
pub async fn reset(
    app_store: &store::Store,
    user: &User,
    actor: Option<(&str, &str)>,
    ip: Option<&str>,
    now: i64,
) -> Result<(), store::Error> {
    app_store.remove_second_factors(&user.id).await?;
    app_store.set_must_enroll(&user.id, true).await?;
    let sessions = app_store.end_sessions_of_user(&user.id, None, now).await?;
    let grants = app_store.revoke_grants_of_user(&user.id, now).await?;
    app_store.clear_failures(&lock_key(&user.id)).await?;
    app_store
        .audit(NewAuditEvent {
            kind: "second_factor_reset",
            account_id: Some(&user.account_id),
            user_id: Some(&user.id),
            actor_id: actor.map(|(id, _)| id),
            ip,
            detail: serde_json::json!({
                "username": user.username,
                "by": actor.map_or("operator command", |(_, name)| name),
                "sessions_ended": sessions,
                "grants_revoked": grants,
            }),
            now,
        })
        .await
}

/// Lifts a lock of the second step (an administrator saw the member is who they say).
pub async fn unlock(app_store: &store::Store, user: &User) -> Result<(), store::Error> {
    app_store.clear_failures(&lock_key(&user.id)).await
}

/// Writes an audit event of the user's own, and emails them the notice the
/// event calls for (a change to what protects their account).
pub async fn audit(
    app: &AppState,
    kind: &str,
    user: &User,
    ip: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), store::Error> {
    crate::service::delivery::notices::notify(app, user, kind, &detail).await?;
    app.store
        .audit(NewAuditEvent {
            kind,
            account_id: Some(&user.account_id),
            user_id: Some(&user.id),
            actor_id: Some(&user.id),
            ip,
            detail,
            now: app.clock.now(),
        })
        .await
}
