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
    /// Relying parties serve every account: only operators register them.
    NotOperator,
    /// An operator's sign-in is changed by another operator only.
    OperatorMember,
}

impl Denied {
    pub fn message(self) -> &'static str {
        match self {
            Denied::NotAdministrator => {
                "The console is for account administrators. Ask an administrator of your \
                 account if something needs changing."
            }
            Denied::OtherAccount => "You do not administer this account.",
            Denied::NotOperator => {
                "Relying parties are registered by the operators of this provider."
            }
            Denied::OperatorMember => {
                "This member is an operator of the provider: only another operator can change \
                 their sign-in."
            }
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

/// Who acts in the console or its API: an administrator or operator, or a
/// client that an operator granted the `admin` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A user id, or `client:<client_id>`.
    pub id: String,
    /// A username or a client id, for the audit log.
    pub name: String,
    /// May act on every account.
    pub operator: bool,
    /// The one account administered otherwise.
    pub account_id: Option<String>,
    pub ip: Option<String>,
}

/// A client's `admin` grant that covers every account.
pub const ALL_ACCOUNTS: &str = "*";

impl Actor {
    pub fn of_user(user: &User, ip: Option<String>) -> Actor {
        let entered = may_enter(user);
        Actor {
            id: user.id.clone(),
            name: user.username.clone(),
            operator: entered && user.is_operator,
            account_id: (entered && user.is_admin).then(|| user.account_id.clone()),
            ip,
        }
    }

    /// A client with the `admin` grant `scope`: an account id, or `*` for all.
    pub fn of_client(client_id: &str, scope: &str, ip: Option<String>) -> Actor {
        Actor {
            id: format!("client:{client_id}"),
            name: client_id.to_string(),
            operator: scope == ALL_ACCOUNTS,
            account_id: (scope != ALL_ACCOUNTS).then(|| scope.to_string()),
            ip,
        }
    }

    /// The account an actor works in when none is named.
    pub fn home_account<'a>(&'a self, user_account: &'a str) -> &'a str {
        self.account_id.as_deref().unwrap_or(user_account)
    }
}

/// Whether `actor` may see and change the account `account_id`.
pub fn may_manage(actor: &Actor, account_id: &str) -> Result<(), Denied> {
    if !actor.operator && actor.account_id.is_none() {
        return Err(Denied::NotAdministrator);
    }
    if actor.operator || actor.account_id.as_deref() == Some(account_id) {
        Ok(())
    } else {
        Err(Denied::OtherAccount)
    }
}

/// Whether `actor` may change `member`'s sign-in (reset or unlock their
/// factors, disable them, change their role). Nobody changes their own from
/// the console: a stolen console session must not be able to weaken its owner.
pub fn may_change_member(actor: &Actor, member: &User) -> Result<(), Denied> {
    may_manage(actor, &member.account_id)?;
    if actor.id == member.id {
        return Err(Denied::OwnFactors);
    }
    // Else an account's administrator could reset an operator, set their
    // password through a new link, and so become one.
    if member.is_operator && !actor.operator {
        return Err(Denied::OperatorMember);
    }
    Ok(())
}

/// Whether `actor` may register and change relying parties.
pub fn may_manage_clients(actor: &Actor) -> Result<(), Denied> {
    if actor.operator {
        Ok(())
    } else if actor.account_id.is_some() {
        Err(Denied::NotOperator)
    } else {
        Err(Denied::NotAdministrator)
    }
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

    fn actor(id: &str, account: &str, admin: bool, operator: bool) -> Actor {
        Actor::of_user(&user(id, account, admin, operator), None)
    }

    #[test]
    fn members_stay_out() {
        let member = user("m", "a", false, false);
        assert!(!may_enter(&member));
        assert_eq!(
            may_manage(&Actor::of_user(&member, None), "a"),
            Err(Denied::NotAdministrator)
        );
    }

    #[test]
    fn disabled_administrators_stay_out() {
        let mut admin = user("x", "a", true, false);
        admin.is_disabled = true;
        assert!(!may_enter(&admin));
        assert_eq!(
            may_manage(&Actor::of_user(&admin, None), "a"),
            Err(Denied::NotAdministrator)
        );
    }

    #[test]
    fn administrators_manage_their_own_account_only() {
        let admin = actor("x", "a", true, false);
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
        let operator = actor("o", "a", false, true);
        assert_eq!(may_manage(&operator, "b"), Ok(()));
        assert_eq!(
            may_change_member(&operator, &user("m", "b", true, false)),
            Ok(())
        );
    }

    #[test]
    fn nobody_changes_their_own_factors_here() {
        let admin = user("x", "a", true, true);
        assert_eq!(
            may_change_member(&Actor::of_user(&admin, None), &admin),
            Err(Denied::OwnFactors)
        );
    }

    #[test]
    fn only_operators_register_relying_parties() {
        assert_eq!(
            may_manage_clients(&actor("x", "a", true, false)),
            Err(Denied::NotOperator)
        );
        assert_eq!(may_manage_clients(&actor("o", "a", false, true)), Ok(()));
        assert_eq!(
            may_manage_clients(&actor("m", "a", false, false)),
            Err(Denied::NotAdministrator)
        );
    }

    #[test]
    fn clients_act_within_their_grant() {
        let one = Actor::of_client("robot", "a", None);
        assert_eq!(one.id, "client:robot");
        assert_eq!(may_manage(&one, "a"), Ok(()));
        assert_eq!(may_manage(&one, "b"), Err(Denied::OtherAccount));
        assert_eq!(may_manage_clients(&one), Err(Denied::NotOperator));
        let all = Actor::of_client("robot", ALL_ACCOUNTS, None);
        assert_eq!(may_manage(&all, "b"), Ok(()));
        assert_eq!(may_manage_clients(&all), Ok(()));
    }

    #[test]
    fn only_operators_change_an_operator() {
        let operator = user("o", "a", true, true);
        assert_eq!(
            may_change_member(&actor("x", "a", true, false), &operator),
            Err(Denied::OperatorMember)
        );
        assert_eq!(
            may_change_member(&Actor::of_client("robot", "a", None), &operator),
            Err(Denied::OperatorMember)
        );
        assert_eq!(
            may_change_member(&actor("p", "b", false, true), &operator),
            Ok(())
        );
    }
}
