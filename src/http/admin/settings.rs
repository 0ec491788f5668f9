//! Account settings: **Require two-factor authentication** with an optional
//! grace period, session lifetimes, and the second step's failure limit.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::frame::{param, query, Admin, Frame};
use crate::app::AppState;
use crate::auth::policy::{self, SettingsInput};
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::service::console;
use crate::store::Tenant;

pub const PATH: &str = "/admin/settings";

/// The form's fields, as shown (and as submitted, when refused).
#[derive(Serialize)]
struct Fields {
    require_mfa: bool,
    grace: String,
    grace_days: String,
    grace_sign_ins: String,
    idle_minutes: String,
    lifetime_hours: String,
    failure_limit: String,
    lockout_minutes: String,
    require_recovery_phone: bool,
    email_codes_aal2: bool,
    remember_device_days: String,
    /// The factor kinds members may use.
    factors: Vec<String>,
}

impl Fields {
    fn of(account: &Tenant) -> Fields {
        let s = &account.settings;
        let text = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        Fields {
            require_mfa: account.require_mfa,
            grace: if s.mfa_grace_days > 0 {
                "days"
            } else if s.mfa_grace_sign_ins > 0 {
                "sign_ins"
            } else {
                "none"
            }
            .into(),
            grace_days: text((s.mfa_grace_days > 0).then_some(s.mfa_grace_days)),
            grace_sign_ins: text((s.mfa_grace_sign_ins > 0).then_some(s.mfa_grace_sign_ins)),
            idle_minutes: text(s.session_idle_secs.map(|v| v / 60)),
            lifetime_hours: text(s.session_lifetime_secs.map(|v| v / 3600)),
            failure_limit: text(s.mfa_failure_limit),
            lockout_minutes: text(s.mfa_lockout_secs.map(|v| v / 60)),
            require_recovery_phone: s.require_recovery_phone,
            email_codes_aal2: s.email_codes_aal2,
            remember_device_days: s.remember_device_days.to_string(),
            factors: account.factors.clone(),
        }
    }

    fn submitted(form: &Params) -> Fields {
        let field = |name| param(form, name).unwrap_or_default().to_string();
        Fields {
            require_mfa: param(form, "require_mfa") == Some("on"),
            grace: field("grace"),
            grace_days: field("grace_days"),
            grace_sign_ins: field("grace_sign_ins"),
            idle_minutes: field("idle_minutes"),
            lifetime_hours: field("lifetime_hours"),
            failure_limit: field("failure_limit"),
            lockout_minutes: field("lockout_minutes"),
            require_recovery_phone: param(form, "require_recovery_phone") == Some("on"),
            email_codes_aal2: param(form, "email_codes_aal2") == Some("on"),
            remember_device_days: field("remember_device_days"),
            factors: policy::FACTOR_KINDS
                .iter()
                .filter(|kind| param(form, &format!("factor_{kind}")) == Some("on"))
                .map(|kind| kind.to_string())
                .collect(),
        }
    }

    fn input(&self) -> SettingsInput<'_> {
        SettingsInput {
            require_mfa: self.require_mfa,
            grace: &self.grace,
            grace_days: &self.grace_days,
            grace_sign_ins: &self.grace_sign_ins,
            idle_minutes: &self.idle_minutes,
            lifetime_hours: &self.lifetime_hours,
            failure_limit: &self.failure_limit,
            lockout_minutes: &self.lockout_minutes,
            require_recovery_phone: self.require_recovery_phone,
            email_codes_aal2: self.email_codes_aal2,
            remember_device_days: &self.remember_device_days,
        }
    }
}

/// The provider's own settings, shown where an account keeps them.
#[derive(Serialize)]
struct Defaults {
    idle_minutes: i64,
    lifetime_hours: i64,
    failure_limit: i64,
    lockout_minutes: i64,
}

#[derive(Serialize)]
struct SettingsPage {
    #[serde(flatten)]
    frame: Frame,
    fields: Fields,
    defaults: Defaults,
    without_factor: i64,
    notice: Option<&'static str>,
    error: Option<String>,
}

impl Page for SettingsPage {
    const TEMPLATE: &'static str = "admin/settings.html";
}

async fn render(
    app: &AppState,
    admin: &Admin,
    account: &Tenant,
    fields: Fields,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let c = &app.config;
    let defaults = Defaults {
        idle_minutes: c.session_idle_secs / 60,
        lifetime_hours: c.session_lifetime_secs / 3600,
        failure_limit: c.mfa_failure_limit,
        lockout_minutes: c.mfa_lockout_secs / 60,
    };
    let without_factor = app.store.member_counts(&account.id).await?.without_factor;
    let mut response = admin
        .render(app, account, "settings", |frame| SettingsPage {
            frame,
            fields,
            defaults,
            without_factor,
            notice,
            error,
        })
        .await?;
    *response.status_mut() = status;
    Ok(response)
}

pub async fn show(
    State(app): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let params = query(raw);
    let account = admin.account(&app, param(&params, "account")).await?;
    let notice = (param(&params, "saved") == Some("1")).then_some(
        "Saved. Changes to two-factor authentication apply at each member's next sign-in.",
    );
    render(&app, &admin, &account, Fields::of(&account), notice, None).await
}

pub async fn submit(
    State(app): State<AppState>,
    admin: Admin,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = admin.form(&app, &body)?;
    let account = admin.account(&app, param(&form, "account")).await?;
    let fields = Fields::submitted(&form);
    let settings = match policy::parse_settings(&fields.input(), &account.settings, &app.config) {
        Ok(settings) => settings,
        Err(error) => return render(&app, &admin, &account, fields, None, Some(error)).await,
    };
    let chosen: Vec<&str> = fields.factors.iter().map(String::as_str).collect();
    let factors = match policy::parse_factors(&chosen) {
        Ok(factors) => factors,
        Err(error) => return render(&app, &admin, &account, fields, None, Some(error)).await,
    };
    console::save_settings(
        &app,
        &admin.actor(),
        &account.id,
        fields.require_mfa,
        &settings,
        &factors,
    )
    .await?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("account", &account.id);
    query.append_pair("saved", "1");
    Ok(see_other(&format!("{PATH}?{}", query.finish())))
}
