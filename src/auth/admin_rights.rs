//! Who may do what in the provider console: account administrators manage
//! their own account, operators every account, and nobody drops their own
//! second factor from a console session.

use crate::store::User;

/// Why the console refuses an action.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Denied {
    /// Neither an administrator nor an operator.
    NotAdministrator,
    /// The member belongs to an account the actor does not administer.
    OtherAccount,
    /// An administrator's own second factor is reset by someone else.
    OwnFactors,
}

impl Denied {
    pub fn message(self) -> &'static str {
        match self {
            Denied::NotAdministrator => {
                "The console is for account administrators. Ask an administrator of your \
                 account if something needs changing."
            }
            Denied::OtherAccount => "You do not administer this account.",
            Denied::OwnFactors => {
                "You cannot reset your own two-factor authentication here. Ask another \
                 administrator of your account, or an operator."
            }
        }
    }
}

/// Whether `user` may use the console at all.
pub fn may_enter(user: &User) -> bool {
    !user.is_disabled && (user.is_admin || user.is_operator)
}

/// Whether `actor` may see and change the account `account_id`.
pub fn may_manage(actor: &User, account_id: &str) -> Result<(), Denied> {
    if !may_enter(actor) {
        return Err(Denied::NotAdministrator);
    }
    if actor.is_operator || actor.account_id == account_id {
        Ok(())
    } else {
        Err(Denied::OtherAccount)
    }
}

/// Whether `actor` may change `member`'s sign-in (reset or unlock their
/// factors, disable them, change their role). Nobody changes their own from
/// the console: a stolen console session must not be able to weaken its owner.
pub fn may_change_member(actor: &User, member: &User) -> Result<(), Denied> {
    may_manage(actor, &member.account_id)?;
    if actor.id == member.id {
        return Err(Denied::OwnFactors);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, account: &str, admin: bool, operator: bool) -> User {
        User {
            id: id.into(),
            account_id: account.into(),
            username: id.into(),
            email: format!("{id}@example.com"),
            password_hash: String::new(),
            is_admin: admin,
            is_operator: operator,
            is_disabled: false,
            must_enroll: false,
            sign_ins_without_factor: 0,
        }
    }

    #[test]
    fn members_stay_out() {
        let member = user("m", "a", false, false);
        assert!(!may_enter(&member));
        assert_eq!(may_manage(&member, "a"), Err(Denied::NotAdministrator));
    }

    #[test]
    fn disabled_administrators_stay_out() {
        let mut admin = user("x", "a", true, false);
        admin.is_disabled = true;
        assert!(!may_enter(&admin));
    }

    #[test]
    fn administrators_manage_their_own_account_only() {
        let admin = user("x", "a", true, false);
        assert_eq!(may_manage(&admin, "a"), Ok(()));
        assert_eq!(may_manage(&admin, "b"), Err(Denied::OtherAccount));
        let elsewhere = user("m", "b", false, false);
        assert_eq!(
            may_change_member(&admin, &elsewhere),
            Err(Denied::OtherAccount)
        );
        assert_eq!(
            may_change_member(&admin, &user("m", "a", false, false)),
            Ok(())
        );
    }

    #[test]
    fn operators_manage_every_account() {
        let operator = user("o", "a", false, true);
        assert_eq!(may_manage(&operator, "b"), Ok(()));
        assert_eq!(
            may_change_member(&operator, &user("m", "b", true, false)),
            Ok(())
        );
    }

    #[test]
    fn nobody_changes_their_own_factors_here() {
        let admin = user("x", "a", true, true);
        assert_eq!(may_change_member(&admin, &admin), Err(Denied::OwnFactors));
    }
}
