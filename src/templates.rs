//! Pages and messages rendered from `templates/` with minijinja
//! (autoescaping on), built into the binary so that it runs from any folder.

use serde::Serialize;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("demo/app.html", include_str!("../templates/demo/app.html")),
    (
        "login/password.html",
        include_str!("../templates/login/password.html"),
    ),
    (
        "login/second_factor.html",
        include_str!("../templates/login/second_factor.html"),
    ),
    (
        "login/enroll.html",
        include_str!("../templates/login/enroll.html"),
    ),
    (
        "login/backup_codes.html",
        include_str!("../templates/login/backup_codes.html"),
    ),
    (
        "login/phone.html",
        include_str!("../templates/login/phone.html"),
    ),
    (
        "login/recovery.html",
        include_str!("../templates/login/recovery.html"),
    ),
    (
        "login/locked.html",
        include_str!("../templates/login/locked.html"),
    ),
    (
        "webauthn/ceremony.html",
        include_str!("../templates/webauthn/ceremony.html"),
    ),
    (
        "account/security.html",
        include_str!("../templates/account/security.html"),
    ),
    (
        "oidc/error.html",
        include_str!("../templates/oidc/error.html"),
    ),
    (
        "oidc/logout_confirm.html",
        include_str!("../templates/oidc/logout_confirm.html"),
    ),
    (
        "oidc/signed_out.html",
        include_str!("../templates/oidc/signed_out.html"),
    ),
    (
        "setup/setup.html",
        include_str!("../templates/setup/setup.html"),
    ),
    (
        "admin/layout.html",
        include_str!("../templates/admin/layout.html"),
    ),
    (
        "admin/overview.html",
        include_str!("../templates/admin/overview.html"),
    ),
    (
        "admin/contacts_menu.html",
        include_str!("../templates/admin/contacts_menu.html"),
    ),
    (
        "admin/contacts.html",
        include_str!("../templates/admin/contacts.html"),
    ),
    (
        "admin/confirm_reset.html",
        include_str!("../templates/admin/confirm_reset.html"),
    ),
    (
        "admin/settings.html",
        include_str!("../templates/admin/settings.html"),
    ),
    (
        "password/set.html",
        include_str!("../templates/password/set.html"),
    ),
    (
        "password/done.html",
        include_str!("../templates/password/done.html"),
    ),
    (
        "oidc/form_post.html",
        include_str!("../templates/oidc/form_post.html"),
    ),
    (
        "oidc/consent.html",
        include_str!("../templates/oidc/consent.html"),
    ),
    (
        "oidc/device.html",
        include_str!("../templates/oidc/device.html"),
    ),
    (
        "oidc/device_confirm.html",
        include_str!("../templates/oidc/device_confirm.html"),
    ),
    (
        "oidc/device_done.html",
        include_str!("../templates/oidc/device_done.html"),
    ),
    (
        "password/forgot.html",
        include_str!("../templates/password/forgot.html"),
    ),
    (
        "admin/new_member.html",
        include_str!("../templates/admin/new_member.html"),
    ),
    (
        "admin/password_link.html",
        include_str!("../templates/admin/password_link.html"),
    ),
    (
        "admin/member.html",
        include_str!("../templates/admin/member.html"),
    ),
    (
        "admin/audit.html",
        include_str!("../templates/admin/audit.html"),
    ),
    (
        "admin/clients.html",
        include_str!("../templates/admin/clients.html"),
    ),
    (
        "admin/client.html",
        include_str!("../templates/admin/client.html"),
    ),
    (
        "admin/client_secret.html",
        include_str!("../templates/admin/client_secret.html"),
    ),
    (
        "admin/find.html",
        include_str!("../templates/admin/find.html"),
    ),
    (
        "setup/done.html",
        include_str!("../templates/setup/done.html"),
    ),
];

pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Templates {
    pub fn load() -> Result<Templates, minijinja::Error> {
        let mut env = minijinja::Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Templates { env })
    }

    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_built_in() {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    out.push(
                        path.strip_prefix(base)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/"),
                    );
                }
            }
        }
        let base = std::path::Path::new("templates");
        let mut files = Vec::new();
        walk(base, base, &mut files);
        for file in files {
            assert!(
                TEMPLATES.iter().any(|(name, _)| *name == file),
                "templates/{file} is not in TEMPLATES"
            );
        }
    }

    #[test]
    fn every_template_parses_and_escapes() {
        let templates = Templates::load().unwrap();
        let html = templates
            .render(
                "oidc/error.html",
                serde_json::json!({ "title": "t", "message": "<script>x</script>" }),
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>x"));
    }
}
