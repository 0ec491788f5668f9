//! The sign-in pages: the password, then (when due) the second factor or the
//! enrolment of one, then back to the relying party. This file routes them;
//! `pending` holds what the steps share, `onward` where a finished one goes.

pub mod email_code;
pub mod enroll;
pub mod enroll_key;
pub mod enroll_phone;
pub mod locked;
pub mod onward;
pub mod passkey;
pub mod password;
pub mod pending;
pub mod recovery;
pub mod second_factor;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            password::PATH,
            get(password::show_login).post(password::submit_login),
        )
        .route(
            second_factor::PATH,
            get(second_factor::show_second_factor).post(second_factor::submit_second_factor),
        )
        .route(second_factor::KEY_PATH, post(second_factor::submit_use_key))
        .route(passkey::PATH, post(passkey::submit_start))
        .route(email_code::PATH, post(email_code::submit_send))
        .route(email_code::SMS_PATH, post(email_code::submit_send_sms))
        .route(email_code::CALL_PATH, post(email_code::submit_call))
        .route(recovery::PATH, post(recovery::submit_start))
        .route(recovery::CONFIRM_PATH, post(recovery::submit_confirm))
        .route(enroll_key::PATH, post(enroll_key::submit_start))
        .route(enroll_phone::PATH, post(enroll_phone::submit_number))
        .route(
            enroll_phone::CONFIRM_PATH,
            post(enroll_phone::submit_confirm),
        )
        .route(enroll_key::FINISH_PATH, post(enroll_key::submit_finish))
        .route(passkey::FINISH_PATH, post(passkey::submit_finish))
        .route(
            second_factor::KEY_FINISH_PATH,
            post(second_factor::submit_key_answer),
        )
        .route(
            enroll::PATH,
            get(enroll::show_enroll).post(enroll::submit_enroll),
        )
        .route(pending::CONTINUE_PATH, get(onward::continue_sign_in))
}
