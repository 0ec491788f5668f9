//! The audit event of a factor change or a second step, for the user's
//! account; the events that forget remembered devices do so here, so that
//! no path that changes a factor or a password can miss it.

use crate::app::AppState;
use crate::service::devices;
use crate::store::{self, User};

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
    if devices::FORGOTTEN_BY.contains(&kind) {
        devices::forget_all(app, user, kind, None, ip).await?;
    }
    crate::service::audit::user_event(app, kind, user, None, ip, detail).await
}
