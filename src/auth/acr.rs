//! The levels a session reaches, its `acr` (OpenID Connect Core §2): `aal1`
//! for a password alone (or a second step the account does not count),
//! `aal2` for a password and a second factor (NIST SP 800-63B-4).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Acr {
    Aal1,
    Aal2,
}

impl Acr {
    /// Every level, lowest first, as discovery lists them.
    pub const ALL: [Acr; 2] = [Acr::Aal1, Acr::Aal2];

    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Aal1 => "aal1",
            Acr::Aal2 => "aal2",
        }
    }

    /// The level a request or a client names, if it is one of ours.
    pub fn parse(value: &str) -> Option<Acr> {
        Acr::ALL.into_iter().find(|acr| acr.as_str() == value)
    }

    /// A level read back from storage: anything but `aal2` counts as the
    /// lowest, never higher than what was written.
    pub fn stored(value: &str) -> Acr {
        Acr::parse(value).unwrap_or(Acr::Aal1)
    }

    /// The level a session's methods give: `aal2` where they name `mfa`.
    pub fn of(amr: &[String]) -> Acr {
        if amr.iter().any(|m| m == "mfa") {
            Acr::Aal2
        } else {
            Acr::Aal1
        }
    }
}

impl std::fmt::Display for Acr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_and_write_as_their_acr_values() {
        assert_eq!(Acr::parse("aal2"), Some(Acr::Aal2));
        assert_eq!(Acr::parse("AAL2"), None);
        assert_eq!(Acr::stored("something else"), Acr::Aal1);
        assert_eq!(serde_json::to_string(&Acr::Aal2).unwrap(), r#""aal2""#);
        assert!(Acr::Aal1 < Acr::Aal2);
        assert_eq!(
            Acr::of(&["pwd".into(), "otp".into(), "mfa".into()]),
            Acr::Aal2
        );
        assert_eq!(Acr::of(&["pwd".into(), "email".into()]), Acr::Aal1);
    }
}
