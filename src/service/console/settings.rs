//! An account's settings saved from the console, with the audit event that
//! names what changed.

use super::{account, audit, Result};
use crate::app::AppState;
use crate::auth::admin_rights::Actor;
use crate::store::{Tenant, TenantSettings};

/// What changed, for the audit log: each setting's old and new value.
fn changes(before: (bool, &TenantSettings), after: (bool, &TenantSettings)) -> serde_json::Value {
    let mut changed = serde_json::Map::new();
    if before.0 != after.0 {
        changed.insert("require_mfa".into(), serde_json::json!([before.0, after.0]));
    }
    let (old, new) = (
        serde_json::to_value(before.1).unwrap_or_default(),
        serde_json::to_value(after.1).unwrap_or_default(),
    );
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        for (name, value) in new {
            if name != "mfa_required_at" && old.get(name) != Some(value) {
                changed.insert(name.clone(), serde_json::json!([old.get(name), value]));
            }
        }
    }
    serde_json::Value::Object(changed)
}

/// Saves an account's settings (already checked by `policy::parse_settings`).
pub async fn save_settings(
    app: &AppState,
    actor: &Actor,
    account_id: &str,
    require_mfa: bool,
    settings: &TenantSettings,
    factors: &[String],
) -> Result<Tenant> {
    let account = account(app, actor, account_id).await?;
    app.store
        .update_tenant_settings(&account.id, require_mfa, settings, factors, app.clock.now())
        .await?;
    let mut changed = changes(
        (account.require_mfa, &account.settings),
        (require_mfa, settings),
    );
    if account.factors != factors {
        changed["factors"] = serde_json::json!([account.factors, factors]);
    }
    let detail = serde_json::json!({ "account": account.name, "changed": changed });
    audit(
        app,
        actor,
        "account_settings_changed",
        &account.id,
        None,
        detail,
    )
    .await?;
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_names_what_changed() {
        let before = TenantSettings::default();
        let after = TenantSettings {
            mfa_failure_limit: Some(3),
            ..Default::default()
        };
        let changed = changes((false, &before), (true, &after));
        assert_eq!(
            changed,
            serde_json::json!({ "require_mfa": [false, true], "mfa_failure_limit": [null, 3] })
        );
    }
}
