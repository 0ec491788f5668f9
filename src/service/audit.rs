//! The audit event about one user, in their account: the one way services
//! write such an event.

use crate::app::AppState;
use crate::store::{self, NewAuditEvent, User};

/// Writes event `kind` about `user`, done by `actor` (the user when none).
pub async fn user_event(
    app: &AppState,
    kind: &str,
    user: &User,
    actor: Option<&str>,
    ip: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), store::Error> {
    app.store
        .audit(NewAuditEvent {
            kind,
            account_id: Some(&user.account_id),
            user_id: Some(&user.id),
            actor_id: Some(actor.unwrap_or(&user.id)),
            ip,
            detail,
            now: app.clock.now(),
        })
        .await
}
