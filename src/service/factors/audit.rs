//! The audit event of a factor change or a second step, for the user's account.

use crate::app::AppState;
use crate::store::{self, NewAuditEvent, User};

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
