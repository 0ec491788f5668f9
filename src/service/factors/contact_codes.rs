//! One-time codes sent by email or SMS: six digits, valid ten minutes,
//! single-use, one live code per user and purpose, a new one at most once a
//! minute. Stored as keyed tags, so a database dump shows none.

use rand::Rng;

use crate::app::AppState;
use crate::service::delivery::{self, Channel, Message};
use crate::store::{self, User};

/// What a code is for; each purpose has its own live code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Proves the email address, to turn email codes on.
    EmailVerify,
    /// Proves the email address alone (notices go to verified addresses).
    EmailAddress,
    /// The second step of a sign-in, by email.
    EmailSignIn,
    /// Proves the email factor, to turn it off.
    EmailDisable,
    /// Proves a new mobile number, to make it the recovery phone.
    PhoneVerify,
    /// Sent to the recovery phone, to replace it (the target is the new number).
    PhoneChange,
    /// Proves the new number of an approved change.
    PhoneChangeNew,
    /// Sent to the recovery phone, to remove it.
    PhoneRemove,
    /// The second step of a sign-in, by SMS (where the account allows it).
    SmsSignIn,
    /// Sent to the recovery phone by a user who lost their authenticator.
    Recovery,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::EmailVerify => "email_verify",
            Purpose::EmailAddress => "email_address",
            Purpose::EmailSignIn => "email_sign_in",
            Purpose::EmailDisable => "email_disable",
            Purpose::PhoneVerify => "phone_verify",
            Purpose::PhoneChange => "phone_change",
            Purpose::PhoneChangeNew => "phone_change_new",
            Purpose::PhoneRemove => "phone_remove",
            Purpose::SmsSignIn => "sms_sign_in",
            Purpose::Recovery => "recovery",
        }
    }

    fn channel(self) -> Channel {
        match self {
            Purpose::EmailVerify
            | Purpose::EmailAddress
            | Purpose::EmailSignIn
            | Purpose::EmailDisable => Channel::Email,
            _ => Channel::Sms,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Purpose::EmailVerify | Purpose::EmailAddress => "to confirm your email address",
            Purpose::EmailSignIn => "to sign in",
            Purpose::EmailDisable => "to turn email codes off",
            Purpose::PhoneVerify => "to confirm this number",
            Purpose::PhoneChange => "to change your recovery phone",
            Purpose::PhoneChangeNew => "to confirm this number",
            Purpose::PhoneRemove => "to remove your recovery phone",
            Purpose::SmsSignIn => "to sign in",
            Purpose::Recovery => "to recover your account",
        }
    }
}

/// How long a code works.
pub const CODE_SECS: i64 = 600;
/// How long before another code may be sent for the same purpose.
pub const RESEND_SECS: i64 = 60;
/// Messages one user may be sent in a day, codes and notices together.
pub const DAILY_MESSAGES: i64 = 30;

/// The outcome of asking for a code.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// Queued for `to` (masked for display).
    Sent { to: String },
    /// One was sent less than a minute ago.
    TooSoon { wait_secs: i64 },
    /// The user was sent as many messages as a day allows.
    TooMany,
}

/// `a•••e@example.com` or `•••• 4567`: enough to recognise, not to copy.
pub fn masked(target: &str) -> String {
    match target.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('•');
            let last = local.chars().last().filter(|_| local.chars().count() > 1);
            format!(
                "{first}•••{}@{domain}",
                last.map(String::from).unwrap_or_default()
            )
        }
        None => {
            let digits: String = target.chars().filter(char::is_ascii_digit).collect();
            let tail = &digits[digits.len().saturating_sub(4)..];
            format!("•••• {tail}")
        }
    }
}

fn tag(app: &AppState, user: &User, purpose: Purpose, code: &str) -> String {
    app.vault.tag(&format!(
        "contact-code:{}:{}:{code}",
        purpose.as_str(),
        user.id
    ))
}

/// Sends a new code for `purpose` to `target`, unless one went less than a
/// minute ago; the code replaces any earlier one.
pub async fn send(
    app: &AppState,
    user: &User,
    purpose: Purpose,
    target: &str,
) -> Result<Sent, store::Error> {
    send_to(app, user, purpose, target, target).await
}

/// As `send`, for a phone purpose, by a call that speaks the code: the
/// same code, limits and daily cap as a text.
pub async fn call(
    app: &AppState,
    user: &User,
    purpose: Purpose,
    target: &str,
) -> Result<Sent, store::Error> {
    deliver(app, user, purpose, target, target, true).await
}

/// As `send`, with the code delivered to `deliver_to` while it stands for
/// `target` (a new number whose change the old number approves).
pub async fn send_to(
    app: &AppState,
    user: &User,
    purpose: Purpose,
    deliver_to: &str,
    target: &str,
) -> Result<Sent, store::Error> {
    deliver(app, user, purpose, deliver_to, target, false).await
}

async fn deliver(
    app: &AppState,
    user: &User,
    purpose: Purpose,
    deliver_to: &str,
    target: &str,
    by_call: bool,
) -> Result<Sent, store::Error> {
    let channel = match purpose.channel() {
        Channel::Sms if by_call => Channel::Voice,
        channel => channel,
    };
    let now = app.clock.now();
    let too_soon = |sent_at: Option<i64>| Sent::TooSoon {
        wait_secs: sent_at.map_or(RESEND_SECS, |at| (RESEND_SECS - (now - at)).max(1)),
    };
    if app.store.messages_since(&user.id, now - 86_400).await? >= DAILY_MESSAGES {
        return Ok(Sent::TooMany);
    }
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
    // One statement: of two requests at once, only one replaces the code.
    let put = app
        .store
        .put_contact_code(
            &user.id,
            purpose.as_str(),
            target,
            &tag(app, user, purpose, &code),
            now + CODE_SECS,
            now,
            now - RESEND_SECS,
        )
        .await?;
    if !put {
        let sent_at = app
            .store
            .contact_code_sent(&user.id, purpose.as_str(), now)
            .await?
            .map(|(_, at)| at);
        return Ok(too_soon(sent_at));
    }
    let body = wording(channel, purpose, &code);
    delivery::queue(
        app,
        Some(&user.id),
        Message {
            channel,
            to: deliver_to,
            subject: "Your Gatehouse code",
            body: &body,
        },
    )
    .await?;
    Ok(Sent::Sent {
        to: masked(deliver_to),
    })
}

/// The text that carries `code` for `purpose` by `channel`.
fn wording(channel: Channel, purpose: Purpose, code: &str) -> String {
    match channel {
        Channel::Email => format!(
            "Your Gatehouse code {} is {code}. It works once, for 10 minutes.\n\n\
             If you did not ask for it, someone may know your password: change it.",
            purpose.what()
        ),
        Channel::Sms => format!(
            "Your Gatehouse code {} is {code}. Valid 10 minutes. Do not share it.",
            purpose.what()
        ),
        Channel::Voice => {
            let spoken = spelled(code);
            format!(
                "This is Gatehouse. Your code {} is: {spoken}. Again: {spoken}.",
                purpose.what()
            )
        }
    }
}

/// A code as a voice reads it: digit by digit, `1, 2, 3, 4, 5, 6`.
pub fn spelled(code: &str) -> String {
    let digits: Vec<String> = code.chars().map(String::from).collect();
    digits.join(", ")
}

/// Uses a code: the target it was sent to, when it is the live code of this
/// purpose. A wrong code leaves the live one in place.
pub async fn take(
    app: &AppState,
    user: &User,
    purpose: Purpose,
    code: &str,
) -> Result<Option<String>, store::Error> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    app.store
        .take_contact_code(
            &user.id,
            purpose.as_str(),
            &tag(app, user, purpose, &digits),
            app.clock.now(),
        )
        .await
}

/// A mobile number in E.164 (`+` and 8 to 15 digits), from what a person
/// types: spaces, dashes, dots and brackets are dropped.
pub fn phone_number(typed: &str) -> Option<String> {
    let kept: String = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = kept.strip_prefix('+')?;
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_masked() {
        assert_eq!(masked("alice@example.com"), "a•••e@example.com");
        assert_eq!(masked("a@example.com"), "a•••@example.com");
        assert_eq!(masked("+15551234567"), "•••• 4567");
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert_eq!(
            phone_number("+1 (555) 123-4567").as_deref(),
            Some("+15551234567")
        );
        assert_eq!(
            phone_number("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        for bad in [
            "5551234567",
            "+0123456789",
            "+1234",
            "+1555123456789012",
            "+1555abc4567",
            "",
        ] {
            assert_eq!(phone_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn purposes_have_distinct_names() {
        let names = [
            Purpose::EmailVerify,
            Purpose::EmailSignIn,
            Purpose::EmailDisable,
            Purpose::PhoneVerify,
            Purpose::PhoneChange,
            Purpose::PhoneChangeNew,
            Purpose::PhoneRemove,
            Purpose::SmsSignIn,
            Purpose::Recovery,
        ]
        .map(Purpose::as_str);
        assert_eq!(
            names.len(),
            names.iter().collect::<std::collections::HashSet<_>>().len()
        );
    }
}
