//! What a second step's attempt comes to: the method that was accepted (and
//! the `amr` it gives), or why it was refused, or the lock.

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
    pub(super) fn reason(self) -> &'static str {
        match self {
            Refusal::Wrong => "wrong code",
            Refusal::AlreadyUsed => "code already used",
            Refusal::StaleChallenge => "challenge expired or already answered",
            Refusal::Cloned => "signature counter went backwards",
        }
    }
}
