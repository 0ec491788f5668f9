//! The user's own security page at `/account`: their second factors, backup
//! codes, and sessions. This file routes the pages; `session` holds the
//! signed-in user they share and the rule for changing a factor.

pub mod apps;
pub mod email_codes;
pub mod factors;
pub mod keys;
pub mod page;
pub mod phone;
pub mod security;
pub mod session;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(security::PATH, get(security::show_account))
        .route("/account/reauth", post(security::submit_reauth))
        .route("/account/password", post(security::submit_change_password))
        .route(
            "/account/devices/forget",
            post(security::submit_forget_device),
        )
        .route(apps::REVOKE_PATH, post(apps::submit_revoke))
        .route("/account/step-up", post(security::submit_step_up))
        .route(
            "/account/sessions/sign-out-others",
            post(security::submit_sign_out_others),
        )
        .route(
            "/account/totp",
            get(factors::show_enable_totp).post(factors::submit_enable_totp),
        )
        .route("/account/totp/disable", post(factors::submit_disable_totp))
        .route("/account/backup-codes", post(factors::submit_regenerate))
        .route(keys::NEW_PATH, post(keys::submit_new_key))
        .route(
            email_codes::ADDRESS_PATH,
            post(email_codes::submit_verify_address),
        )
        .route(
            email_codes::ADDRESS_CONFIRM_PATH,
            post(email_codes::submit_confirm_address),
        )
        .route(email_codes::ON_PATH, post(email_codes::submit_turn_on))
        .route(email_codes::CONFIRM_PATH, post(email_codes::submit_confirm))
        .route(
            email_codes::OFF_CODE_PATH,
            post(email_codes::submit_off_code),
        )
        .route(email_codes::OFF_PATH, post(email_codes::submit_turn_off))
        .route(phone::PATH, post(phone::submit_number))
        .route(phone::CONFIRM_PATH, post(phone::submit_confirm))
        .route(phone::REMOVE_CODE_PATH, post(phone::submit_remove_code))
        .route(phone::REMOVE_PATH, post(phone::submit_remove))
        .route(keys::FINISH_PATH, post(keys::submit_finish_key))
        .route(keys::REMOVE_PATH, post(keys::submit_remove_key))
        .route(
            "/account/sessions/sign-out",
            post(security::submit_sign_out_session),
        )
        .route(
            "/account/sessions/sign-out-everywhere",
            post(security::submit_sign_out_everywhere),
        )
}
