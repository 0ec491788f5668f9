//! The kinds of second factor an account may allow its members, by the
//! names the store, the console, its API and the command line use.

/// A kind of second factor, in the console's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FactorKind {
    /// An authenticator app (TOTP).
    Totp,
    /// A security key.
    Webauthn,
    /// A passkey, which also signs in without a password.
    Passkey,
    /// Codes sent to the verified email address.
    Email,
    /// Codes sent by SMS to the verified recovery phone.
    Sms,
}

impl FactorKind {
    pub const ALL: [FactorKind; 5] = [
        FactorKind::Totp,
        FactorKind::Webauthn,
        FactorKind::Passkey,
        FactorKind::Email,
        FactorKind::Sms,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Webauthn => "webauthn",
            FactorKind::Passkey => "passkey",
            FactorKind::Email => "email",
            FactorKind::Sms => "sms",
        }
    }

    pub fn parse(name: &str) -> Option<FactorKind> {
        FactorKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Registered through WebAuthn: a security key or a passkey.
    pub fn is_key(self) -> bool {
        matches!(self, FactorKind::Webauthn | FactorKind::Passkey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_back_from_its_name() {
        for kind in FactorKind::ALL {
            assert_eq!(FactorKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(FactorKind::parse("carrier-pigeon"), None);
        assert_eq!(FactorKind::parse("TOTP"), None);
    }
}
