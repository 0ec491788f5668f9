//! The audit log of an account: sign-ins, failures, locks, enrolments,
//! resets, and the console's changes, filtered by member and kind.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::frame::{param, query, Admin, Frame};
use crate::app::AppState;
use crate::auth::admin_rights;
use crate::http::error::PageError;
use crate::http::render::{when, Page};
use crate::oidc::params::Params;
use crate::store::{AuditEntry, AuditKey, AuditQuery, Paged, Seek, Tenant};

pub const PATH: &str = "/admin/audit";
const PAGE_SIZE: i64 = 50;

/// Every kind of event, with the words the log shows for it.
pub const KINDS: &[(&str, &str)] = &[
    ("signed_in", "Signed in (password only)"),
    ("second_factor_ok", "Second step passed"),
    ("password_failed", "Wrong password"),
    ("password_throttled", "Password attempts throttled"),
    ("second_factor_failed", "Wrong code"),
    ("second_factor_locked", "Second step locked"),
    ("second_factor_refused_locked", "Code refused while locked"),
    ("second_factor_unlocked", "Second step unlocked"),
    ("totp_enrolled", "Authenticator app set up"),
    ("backup_codes_regenerated", "Backup codes regenerated"),
    ("second_factor_disabled", "Second factor turned off"),
    ("second_factor_reset", "2FA reset"),
    ("session_ended", "Signed out a session"),
    ("other_sessions_ended", "Signed out other sessions"),
    ("signed_out_everywhere", "Signed out everywhere"),
    ("member_created", "Member added"),
    ("password_link_issued", "Password link issued"),
    ("password_set", "Password set"),
    ("member_disabled", "Member disabled"),
    ("member_enabled", "Member enabled"),
    ("member_role_changed", "Role changed"),
    ("account_settings_changed", "Settings changed"),
    ("client_created", "Relying party registered"),
    ("client_changed", "Relying party changed"),
    ("client_secret_rotated", "Relying party secret rotated"),
];

fn label(kind: &str) -> String {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| kind.replace('_', " "), |(_, label)| label.to_string())
}

#[derive(Serialize)]
struct KindChoice {
    kind: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Serialize)]
struct Row {
    at: String,
    kind: String,
    what: String,
    member: Option<String>,
    actor: Option<String>,
    ip: Option<String>,
    detail: String,
}

impl From<AuditEntry> for Row {
    fn from(entry: AuditEntry) -> Row {
        Row {
            at: when(entry.at),
            what: label(&entry.kind),
            kind: entry.kind,
            member: entry.username,
            actor: entry.actor,
            ip: entry.ip,
            detail: if entry.detail == "{}" {
                String::new()
            } else {
                entry.detail
            },
        }
    }
}

#[derive(Serialize)]
struct AuditPage {
    #[serde(flatten)]
    frame: Frame,
    kinds: Vec<KindChoice>,
    member: String,
    unknown_member: bool,
    provider: bool,
    rows: Vec<Row>,
    previous_href: Option<String>,
    next_href: Option<String>,
}

impl Page for AuditPage {
    const TEMPLATE: &'static str = "admin/audit.html";
}

fn page_href(account_id: &str, kind: &str, member: &str, from: &Seek<AuditKey>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("account", account_id);
    if !kind.is_empty() {
        query.append_pair("kind", kind);
    }
    if !member.is_empty() {
        query.append_pair("member", member);
    }
    if let Some((name, key)) = from.param(("older", "newer")) {
        query.append_pair(name, &key);
    }
    format!("{PATH}?{}", query.finish())
}

pub async fn show(
    State(app): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    let account = admin.account(&app, param(&params, "account")).await?;
    let filter = Filter::of(&params);
    // The provider's own events (relying parties) belong to no account: operators only.
    if filter.provider {
        admin_rights::may_manage_clients(&admin.actor())
            .map_err(|denied| PageError::Forbidden(denied.message().into()))?;
    }
    let (page, unknown_member) = filter.events(&app, &account).await?;
    let previous_href = page
        .rows
        .first()
        .filter(|_| page.earlier)
        .map(|e| filter.href(&account.id, &Seek::Before(AuditKey::of(e))));
    let next_href = page
        .rows
        .last()
        .filter(|_| page.later)
        .map(|e| filter.href(&account.id, &Seek::After(AuditKey::of(e))));
    let rows = page.rows.into_iter().map(Row::from).collect();
    let kinds = KINDS
        .iter()
        .map(|&(k, label)| KindChoice {
            kind: k,
            label,
            selected: k == filter.kind,
        })
        .collect();
    admin
        .render(&app, &account, "audit", |frame| AuditPage {
            previous_href,
            next_href,
            kinds,
            member: filter.member.to_string(),
            unknown_member,
            provider: filter.provider,
            rows,
            frame,
        })
        .await
}

/// What the audit page shows: the provider's events or an account's, of one
/// kind or all, of one member or all, one page of them.
struct Filter<'a> {
    provider: bool,
    kind: &'a str,
    member: &'a str,
    from: Seek<AuditKey>,
}

impl<'a> Filter<'a> {
    fn of(params: &'a Params) -> Filter<'a> {
        Filter {
            provider: param(params, "provider") == Some("1"),
            kind: param(params, "kind")
                .filter(|k| KINDS.iter().any(|(known, _)| known == k))
                .unwrap_or_default(),
            member: param(params, "member").unwrap_or_default().trim(),
            from: Seek::from_params(
                param(params, "older"),
                param(params, "newer"),
                AuditKey::parse,
            ),
        }
    }

    /// One page of events, and whether the member asked for is unknown (a
    /// member is named by username, and only within this account).
    async fn events(
        &self,
        app: &AppState,
        account: &Tenant,
    ) -> Result<(Paged<AuditEntry>, bool), PageError> {
        let member_id = match self.member {
            "" => None,
            member => match app.store.user_by_username(member).await? {
                Some(user) if user.account_id == account.id => Some(user.id),
                _ => return Ok((Paged::empty(), true)),
            },
        };
        let page = app
            .store
            .audit_log(&AuditQuery {
                account_id: (!self.provider).then_some(account.id.as_str()),
                kind: Some(self.kind),
                user_id: member_id.as_deref(),
                from: self.from.clone(),
                limit: PAGE_SIZE,
            })
            .await?;
        Ok((page, false))
    }

    fn href(&self, account_id: &str, from: &Seek<AuditKey>) -> String {
        let href = page_href(account_id, self.kind, self.member, from);
        match self.provider {
            true => format!("{href}&provider=1"),
            false => href,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_words() {
        assert_eq!(label("second_factor_reset"), "2FA reset");
        assert_eq!(label("something_new"), "something new");
    }

    #[test]
    fn kinds_are_listed_once() {
        let mut kinds: Vec<_> = KINDS.iter().map(|(k, _)| k).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len());
    }

    #[test]
    fn page_links_keep_the_filter() {
        let older = Seek::After(AuditKey {
            at: 1_700_000_000,
            id: "0005f-ab".to_string(),
        });
        assert_eq!(
            page_href("a", "signed_in", "mia", &older),
            "/admin/audit?account=a&kind=signed_in&member=mia&older=1700000000.0005f-ab"
        );
        assert_eq!(
            page_href("a", "", "", &Seek::First),
            "/admin/audit?account=a"
        );
    }
}
