//! The provider console: who may enter, the contact list, and Reset 2FA
//! with every authorisation rule around it.

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use totp_rs::TOTP;

use crate::browser::Browser;
use crate::common::*;
use crate::each_backend;
use crate::second_factor::first_sign_in_with_enrolment;

const ADA: &str = "ada";
const ADA_ID: &str = "user-ada";

/// The href of the first link whose text is `text`.
pub fn link_named(page: &str, text: &str) -> String {
    let end = page
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("a link {text:?} in {page}"));
    let start = page[..end].rfind("href=\"").expect("an href") + 6;
    let stop = start + page[start..].find('"').unwrap();
    html_unescape(&page[start..stop])
}

/// The password step towards the console, from a visitor's first request to `/admin`.
async fn password_towards_console(
    app: &TestApp,
    browser: &reqwest::Client,
    username: &str,
) -> (StatusCode, Option<String>) {
    let (status, location, _) = app.get_in(browser, "/admin").await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login?next=%2Fadmin")),
        "a visitor is sent to sign in"
    );
    let (_, _, page) = app.get_in(browser, "/login?next=%2Fadmin").await;
    assert_eq!(
        hidden_input(&page, "next")
            .map(|n| html_unescape(&n))
            .as_deref(),
        Some("/admin")
    );
    let (status, location, _) = app
        .submit_in(
            browser,
            &page,
            "/login",
            &[
                ("next", "/admin"),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
        .await;
    (status, location)
}

/// An administrator's first visit: password, then (no factor yet) enrolment,
/// then the console. Returns their authenticator.
pub async fn console_first_visit(app: &TestApp, browser: &reqwest::Client, username: &str) -> TOTP {
    let (status, location) = password_towards_console(app, browser, username).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/admin"))
    );
    let (status, location, _) = app.get_in(browser, "/admin").await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/enroll")),
        "an administrator without a factor enrols first"
    );
    let (status, _, page) = app.get_in(browser, "/login/enroll").await;
    assert_eq!(status, StatusCode::OK);
    let totp = authenticator_from(&page);
    let code = totp.generate(app.state.clock.now() as u64);
    let (status, _, codes) = app
        .submit_in(browser, &page, "/login/enroll", &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    assert_eq!(backup_codes_on(&codes).len(), 10);
    assert!(
        html_unescape(&codes).contains(r#"href="/admin""#),
        "the codes page continues to the console"
    );
    let (status, _, page) = app.get_in(browser, "/admin").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(">Contacts</a>"));
    totp
}

async fn all_contacts(app: &TestApp, browser: &reqwest::Client, query: &str) -> String {
    let (status, _, page) = app
        .get_in(browser, &format!("/admin/contacts/all{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

fn usernames_listed(page: &str) -> Vec<String> {
    page.split(r#"<strong class="username">"#)
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_string())
        .collect()
}

async fn confirm_page(
    app: &TestApp,
    browser: &reqwest::Client,
    user_id: &str,
) -> (StatusCode, String) {
    let (status, _, page) = app
        .get_in(browser, &format!("/admin/contacts/{user_id}/reset-2fa"))
        .await;
    (status, page)
}

async fn totp_count(app: &TestApp, user_id: &str) -> usize {
    usize::from(
        app.state
            .store
            .active_totp(user_id)
            .await
            .unwrap()
            .is_some(),
    )
}

each_backend! {
    async fn visitors_sign_in_and_members_get_403(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, location, _) = app.post_form("/admin/contacts/user-alice/reset-2fa", &[]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login?next=%2Fadmin")));
        let (status, location, _) = app.get("/admin/contacts/all?account=acct-acme&q=a").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some("/login?next=%2Fadmin%2Fcontacts%2Fall%3Faccount%3Dacct-acme%26q%3Da"), "and comes back to the same page");

        let (status, location) = password_towards_console(&app, &app.browser, USERNAME).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin")));
        for path in ["/admin", "/admin/contacts", "/admin/contacts/all", "/admin/contacts/user-mia/reset-2fa"] {
            let (status, _, page) = app.get(path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(page.contains("for account administrators"), "{page}");
        }
        let (_, _, account) = app.get("/account").await;
        let (status, _, _) = app.submit_in(&app.browser, &account, "/admin/contacts/user-mia/reset-2fa", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn an_administrator_enrols_before_entering_and_an_aal1_session_steps_up(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member(ADA, PASSWORD, "acct-acme", Role::Administrator).await;
        let totp = console_first_visit(&app, &app.browser, ADA).await;
        assert_eq!(totp_count(&app, ADA_ID).await, 1);
        // From then on, signing in towards the console asks for the code.
        let later = new_browser();
        let (status, location) = password_towards_console(&app, &later, ADA).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
        let (_, _, page) = app.get_in(&later, "/login/second-factor").await;
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, location, _) = app.submit_in(&later, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin")));
        let (status, _, _) = app.get_in(&later, "/admin").await;
        assert_eq!(status, StatusCode::OK);

        // Another administrator signs in without a factor, then adds one from
        // another browser: this session is still aal1, so the console asks for it.
        let grace = new_browser();
        app.add_member("grace", PASSWORD, "acct-acme", Role::Administrator).await;
        password_towards_console(&app, &grace, "grace").await;
        let other = new_browser();
        password_towards_console(&app, &other, "grace").await;
        let (_, _, page) = app.get_in(&other, "/account/totp").await;
        let their_app = authenticator_from(&page);
        let code = their_app.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&other, &page, "/account/totp", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, location, _) = app.get_in(&grace, "/admin/contacts").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
        let (_, _, page) = app.get_in(&grace, "/login/second-factor").await;
        app.state.clock.advance(30);
        let code = their_app.generate(app.state.clock.now() as u64);
        let (status, location, _) = app.submit_in(&grace, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/contacts")));
        let (status, _, page) = app.get_in(&grace, "/admin/contacts").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(">All Contacts</a>"));
    }

    async fn an_administrator_without_a_factor_gives_the_password_again_before_enrolling(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member(ADA, PASSWORD, "acct-acme", Role::Administrator).await;
        let (status, location) = password_towards_console(&app, &app.browser, ADA).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin")));
        // The password-only session outlives the password window.
        app.state.clock.advance(301);
        let (status, location, _) = app.get("/admin").await;
        assert_eq!(
            (status, location.as_deref()),
            (StatusCode::SEE_OTHER, Some("/login?next=%2Fadmin")),
            "binding a factor needs the password again"
        );
        let (status, _, page) = app.get("/login/enroll").await;
        assert_ne!(status, StatusCode::OK, "no enrolment was begun: {page}");
        assert_eq!(totp_count(&app, ADA_ID).await, 0);
        // With the password again, the enrolment comes.
        let (status, location) = password_towards_console(&app, &app.browser, ADA).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin")));
        let (status, location, _) = app.get("/admin").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")));
    }

    async fn all_contacts_lists_the_account_with_search_pages_and_status(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member(ADA, PASSWORD, "acct-acme", Role::Administrator).await;
        let portal = app.rp("portal").await;
        let alice = new_browser();
        first_sign_in_with_enrolment(&app, &alice, &portal, USERNAME, &[("acr_values", "aal2")]).await;
        console_first_visit(&app, &app.browser, ADA).await;

        let page = all_contacts(&app, &app.browser, "").await;
        assert_eq!(usernames_listed(&page), vec![ADA, USERNAME], "acme only, by name");
        assert!(!page.contains(MIA), "no member of another account");
        let alice_row = &page[page.find(r#"data-username="alice""#).unwrap()..];
        let alice_row = &alice_row[..alice_row.find("</tr>").unwrap()];
        assert!(alice_row.contains("Authenticator app, 10 backup codes"), "{alice_row}");
        assert!(!alice_row.contains("never"), "a last sign-in: {alice_row}");
        assert!(alice_row.contains("Reset 2FA"));
        let ada_row = &page[page.find(r#"data-username="ada""#).unwrap()..];
        let ada_row = &ada_row[..ada_row.find("</tr>").unwrap()];
        assert!(ada_row.contains(">you<") && !ada_row.contains("Reset 2FA"), "no reset of oneself: {ada_row}");

        assert_eq!(usernames_listed(&all_contacts(&app, &app.browser, "?q=ALI").await), vec![USERNAME], "by the start of a username, any case");
        assert_eq!(usernames_listed(&all_contacts(&app, &app.browser, "?q=LIC").await), Vec::<String>::new(), "not by any part of it");
        let (status, location, _) = app.get("/admin/find?q=mia").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/contacts/all?account=acct-acme&q=mia")), "an administrator searches their own account");
        assert_eq!(usernames_listed(&all_contacts(&app, &app.browser, "?q=%25").await), Vec::<String>::new(), "a % is matched literally");
        assert_eq!(usernames_listed(&all_contacts(&app, &app.browser, "?q=+Ada%40EX").await), vec![ADA], "emails are searched by their start");
        assert!(all_contacts(&app, &app.browser, "?q=ada%40").await.contains(">1 member<"));

        let hash = app.state.store.user_by_username(USERNAME).await.unwrap().unwrap().password_hash;
        for n in 0..30 {
            app.state.store.create_user(gatehouse::store::NewUser {
                id: &format!("user-m{n:02}"), account_id: "acct-acme", username: &format!("m{n:02}"),
                email: &format!("m{n:02}@example.com"), password_hash: &hash,
                is_admin: false, is_operator: false, now: app.state.clock.now(),
            }).await.unwrap();
        }
        let first = all_contacts(&app, &app.browser, "?account=acct-acme").await;
        assert!(first.contains(">32 members<"), "{first}");
        assert!(!first.contains("Previous page"));
        assert_eq!(usernames_listed(&first).len(), 25);
        let next = link_named(&first, "Next page");
        assert!(next.ends_with("&after=user-m22%3Am22"), "a page goes on after the last member shown: {next}");
        let second = all_contacts(&app, &app.browser, &next["/admin/contacts/all".len()..]).await;
        let rest = usernames_listed(&second);
        assert_eq!(rest, vec!["m23", "m24", "m25", "m26", "m27", "m28", "m29"]);
        assert!(!second.contains("Next page"));
        let back = all_contacts(&app, &app.browser, &link_named(&second, "Previous page")["/admin/contacts/all".len()..]).await;
        assert_eq!(usernames_listed(&back), usernames_listed(&first), "and comes back to the same page");
        assert!(!back.contains("Previous page") && back.contains("Next page"));
        let searched = all_contacts(&app, &app.browser, "?q=M&without=1").await;
        assert!(searched.contains(">30 members<"), "a search counts what it matches: {searched}");
        assert_eq!(usernames_listed(&searched).len(), 25);
        let unenrolled = all_contacts(&app, &app.browser, "?without=1").await;
        assert!(unenrolled.contains(">30 members<"), "the report of members without a factor");
        assert!(!usernames_listed(&unenrolled).contains(&USERNAME.to_string()));
        let overview = app.get("/admin").await.2;
        assert!(overview.contains("<td>32</td>") && overview.contains("without=1\">30</a>"), "{overview}");
        for odd in ["?page=-1&q=%00", "?after=%00&before=zz", "?before=", "?after=%F0%9F%98%80"] {
            let (status, _, _) = app.get(&format!("/admin/contacts/all{odd}")).await;
            assert_eq!(status, StatusCode::OK, "odd parameters are ignored: {odd}");
        }
    }

    async fn the_counts_kept_with_an_account_follow_every_factor_change(backend) {
        let app = TestApp::spawn(backend).await;
        let store = &app.state.store;
        let now = app.state.clock.now();
        let counts = || async { store.member_counts("acct-acme").await.unwrap() };
        let before = counts().await;
        let hash = store.user_by_username(USERNAME).await.unwrap().unwrap().password_hash;
        store.create_user(gatehouse::store::NewUser {
            id: "user-cleo", account_id: "acct-acme", username: "Cleo", email: "Cleo@Example.com",
            password_hash: &hash, is_admin: false, is_operator: false, now,
        }).await.unwrap();
        let joined = counts().await;
        assert_eq!((joined.members, joined.without_factor), (before.members + 1, before.without_factor + 1));
        let without = |c: gatehouse::store::MemberCounts| c.without_factor - before.without_factor;
        store.start_totp_enrolment("totp-cleo", "user-cleo", "sealed", now).await.unwrap();
        assert_eq!(without(counts().await), 1, "an unconfirmed app protects nothing");
        assert!(store.confirm_totp("totp-cleo", "user-cleo", 1, &[], now).await.unwrap());
        assert_eq!(without(counts().await), 0);
        let key = |id: &str| gatehouse::store::WebauthnCredential {
            id: id.into(), user_id: "user-cleo".into(), credential_id: format!("cred-{id}"), kind: "security_key".into(),
            name: "key".into(), credential: "{}".into(), counter: 0, created_at: now, last_used_at: None,
        };
        store.add_webauthn_credential(&key("k1")).await.unwrap();
        store.remove_totp("user-cleo").await.unwrap();
        assert_eq!(without(counts().await), 0, "the key still protects her");
        assert!(store.remove_webauthn_credential("user-cleo", "k1").await.unwrap());
        assert_eq!(without(counts().await), 1);
        store.add_webauthn_credential(&key("k2")).await.unwrap();
        store.add_webauthn_credential(&key("k3")).await.unwrap();
        assert_eq!(without(counts().await), 0);
        store.remove_second_factors("user-cleo").await.unwrap();
        let reset = counts().await;
        assert_eq!((reset.members, without(reset)), (before.members + 1, 1), "a reset counts her as unprotected again");
        let listed = store.contacts(&gatehouse::store::ContactQuery {
            account_id: "acct-acme", search: " cLe", without_factor: true, from: gatehouse::store::Seek::First, limit: 10,
        }).await.unwrap();
        assert_eq!(listed.rows.iter().map(|c| c.username.as_str()).collect::<Vec<_>>(), vec!["Cleo"], "and finds her by a folded prefix");
        let by_email = store.find_members("cleo@ex", 10).await.unwrap();
        assert_eq!(by_email.len(), 1);
    }

    async fn a_search_pages_through_usernames_and_emails_in_one_order(backend) {
        let app = TestApp::spawn(backend).await;
        let store = &app.state.store;
        let hash = store.user_by_username(USERNAME).await.unwrap().unwrap().password_hash;
        // Five whose usernames start with k and share one email starting with z;
        // three whose usernames start with z and emails with k.
        let members = [("K01", "z@example.com"), ("k02", "z@example.com"), ("k03", "Z@example.com"),
            ("k04", "z@example.com"), ("k05", "z@example.com"), ("z1", "k9@example.com"),
            ("Z2", "k9@example.com"), ("z3", "k1@example.com")];
        for (username, email) in members {
            store.create_user(gatehouse::store::NewUser {
                id: &format!("user-{}", username.to_lowercase()), account_id: "acct-acme", username, email,
                password_hash: &hash, is_admin: false, is_operator: false, now: app.state.clock.now(),
            }).await.unwrap();
        }
        let page = |search: &'static str, from: gatehouse::store::Seek<gatehouse::store::ContactKey>| async move {
            store.contacts(&gatehouse::store::ContactQuery { account_id: "acct-acme", search, without_factor: false, from, limit: 3 }).await.unwrap()
        };
        let names = |p: &gatehouse::store::Paged<gatehouse::store::Contact>| p.rows.iter().map(|c| c.username.clone()).collect::<Vec<_>>();
        for (search, everyone) in [
            ("k", vec!["K01", "k02", "k03", "k04", "k05", "z3", "z1", "Z2"]),
            ("Z", vec!["z1", "Z2", "z3", "K01", "k02", "k03", "k04", "k05"]),
        ] {
            // Forward by the last member shown, then back by the first.
            let mut pages = vec![page(search, gatehouse::store::Seek::First).await];
            while pages.last().unwrap().later {
                let last = gatehouse::store::ContactKey::of(pages.last().unwrap().rows.last().unwrap());
                pages.push(page(search, gatehouse::store::Seek::After(last)).await);
            }
            let walked: Vec<String> = pages.iter().flat_map(names).collect();
            assert_eq!(walked, everyone, "{search}: each member once, by the key that matched");
            assert_eq!((pages[0].earlier, pages.len()), (false, 3));
            let first_of_last = gatehouse::store::ContactKey::of(&pages[2].rows[0]);
            let back = page(search, gatehouse::store::Seek::Before(first_of_last)).await;
            assert_eq!(names(&back), names(&pages[1]), "{search}: back to the page before");
            assert!(back.earlier && back.later);
            let count = store.count_contacts(&gatehouse::store::ContactQuery { account_id: "acct-acme", search, without_factor: false, from: gatehouse::store::Seek::First, limit: 3 }, 100).await.unwrap();
            assert_eq!(count, 8);
            let capped = store.count_contacts(&gatehouse::store::ContactQuery { account_id: "acct-acme", search, without_factor: false, from: gatehouse::store::Seek::First, limit: 3 }, 6).await.unwrap();
            assert_eq!(capped, 6, "counted no further than the cap");
        }
        let found: Vec<String> = store.find_members("K", 4).await.unwrap().into_iter().map(|m| m.username).collect();
        assert_eq!(found, vec!["K01", "k02", "k03", "k04"], "across accounts, in the same order");
    }

    async fn members_stored_before_search_keys_are_keyed_when_the_store_opens(backend) {
        let app = TestApp::spawn(backend).await;
        sqlx::any::install_default_drivers();
        let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
        sqlx::query("update users set username_key = null, email_key = null").execute(&db).await.unwrap();
        db.close().await;
        let store = &app.state.store;
        let search = |search: &'static str| async move {
            store.find_members(search, 10).await.unwrap().into_iter().map(|m| m.username).collect::<Vec<_>>()
        };
        assert!(search("ali").await.is_empty(), "no keys, no match");
        store.migrate().await.unwrap();
        assert_eq!(search("ALI").await, vec![USERNAME]);
        assert_eq!(search("alice@").await, vec![USERNAME], "emails too");
    }

    async fn reset_2fa_confirms_then_resets_and_the_member_enrols_again(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member(ADA, PASSWORD, "acct-acme", Role::Administrator).await;
        let portal = app.rp("portal").await;
        let alice = new_browser();
        let enrolled = first_sign_in_with_enrolment(&app, &alice, &portal, USERNAME, &[("acr_values", "aal2")]).await;
        let refresh = enrolled.signed_in.tokens.refresh_token().unwrap().clone();
        // Alice then locks her second step with wrong codes.
        let request = app.auth_request(&portal, &[("prompt", "login")]);
        let locked_out = new_browser();
        app.sign_in_through_in(&locked_out, &request, USERNAME, PASSWORD).await;
        let (_, _, mut page) = app.get_in(&locked_out, "/login/second-factor").await;
        for _ in 0..5 {
            page = app.submit_in(&locked_out, &page, "/login/second-factor", &[("code", "000000")]).await.2;
        }
        console_first_visit(&app, &app.browser, ADA).await;
        let listed = all_contacts(&app, &app.browser, "").await;
        assert!(listed.contains("locked until"), "the lock shows: {listed}");

        let confirm_href = link_named(&listed, "Reset 2FA");
        assert_eq!(confirm_href, "/admin/contacts/user-alice/reset-2fa");
        let (status, confirm) = confirm_page(&app, &app.browser, "user-alice").await;
        assert_eq!(status, StatusCode::OK);
        assert!(confirm.contains("<h1 id=\"confirm-title\">Confirm</h1>") && confirm.contains(">Yes</button>"));
        assert_eq!(link_named(&confirm, "No"), "/admin/contacts/all?account=acct-acme");
        assert_eq!(totp_count(&app, "user-alice").await, 1, "showing the confirm step changes nothing");

        let (status, location, _) = app.submit_in(&app.browser, &confirm, &confirm_href, &[]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/contacts/all?account=acct-acme&reset=user-alice")));
        let after = all_contacts(&app, &app.browser, &location.unwrap()["/admin/contacts/all".len()..]).await;
        assert!(after.contains("alice&#x27;s two-factor authentication was reset. They will set it up again at their next sign-in."), "{after}");
        let alice_row = &after[after.find(r#"data-username="alice""#).unwrap()..];
        let alice_row = &alice_row[..alice_row.find("</tr>").unwrap()];
        assert!(alice_row.contains("None") && alice_row.contains("sets up at next sign-in") && !alice_row.contains("locked"), "{alice_row}");

        // The effects: factors gone, sessions ended, tokens revoked, lock cleared, enrolment due.
        assert_eq!(totp_count(&app, "user-alice").await, 0);
        assert_eq!(app.state.store.backup_code_summary("user-alice").await.unwrap().remaining, 0);
        assert!(app.state.store.user_by_id("user-alice").await.unwrap().unwrap().must_enroll);
        let (status, location, _) = app.get_in(&alice, "/account").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login?next=%2Faccount")), "signed out");
        assert!(portal.exchange_refresh_token(&refresh).unwrap().request_async(&rp_http()).await.is_err(), "refresh token revoked");
        let events = app.state.store.audit_events_for("user-alice", 50).await.unwrap();
        let reset = events.iter().find(|e| e.kind == "second_factor_reset").expect("an audit event");
        assert_eq!(reset.actor_id.as_deref(), Some(ADA_ID), "who");
        assert_eq!(reset.ip.as_deref(), Some("127.0.0.1"), "from where");
        assert!(reset.detail.contains(r#""by":"ada""#), "{}", reset.detail);

        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through_in(&new_browser(), &request, USERNAME, PASSWORD).await;
        assert_eq!(location.as_deref(), Some("/login/enroll"), "enrolling again at the next sign-in");
    }

    async fn nobody_resets_outside_their_account_or_their_own_or_without_the_form_token(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member(ADA, PASSWORD, "acct-acme", Role::Administrator).await;
        let fortress = app.rp("portal").await;
        let mia = new_browser();
        first_sign_in_with_enrolment(&app, &mia, &fortress, MIA, &[]).await;
        console_first_visit(&app, &app.browser, ADA).await;
        let (_, confirm) = confirm_page(&app, &app.browser, "user-alice").await;
        let csrf = hidden_input(&confirm, "csrf_token").expect("the confirm form's token");

        // Another account's member, by editing the id in the request.
        let (status, page) = confirm_page(&app, &app.browser, "user-mia").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(page.contains("You do not administer this account."));
        let (status, _, _) = app.post_in(&app.browser, "/admin/contacts/user-mia/reset-2fa", &[("csrf_token", &csrf)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(totp_count(&app, "user-mia").await, 1, "mia keeps her factor");
        for path in ["/admin?account=acct-fortress", "/admin/contacts/all?account=acct-fortress", "/admin/contacts?account=acct-fortress"] {
            let (status, _, _) = app.get(path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        let (status, _, _) = app.get("/admin?account=acct-nowhere").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "an unknown account is not theirs either");
        let (status, _, _) = app.post_in(&app.browser, "/admin/contacts/user-nobody/reset-2fa", &[("csrf_token", &csrf)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Their own factors.
        let (status, page) = confirm_page(&app, &app.browser, ADA_ID).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(page.contains("cannot reset your own"), "{page}");
        let (status, _, _) = app.post_in(&app.browser, &format!("/admin/contacts/{ADA_ID}/reset-2fa"), &[("csrf_token", &csrf)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(totp_count(&app, ADA_ID).await, 1, "ada keeps her factor");

        // Without the form's token, or with a wrong one.
        let portal = app.rp("portal").await;
        let alice = new_browser();
        first_sign_in_with_enrolment(&app, &alice, &portal, USERNAME, &[("acr_values", "aal2")]).await;
        for form in [vec![], vec![("csrf_token", "forged")]] {
            let (status, _, page) = app.post_in(&app.browser, "/admin/contacts/user-alice/reset-2fa", &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert!(page.contains("This form has expired"));
        }
        assert_eq!(totp_count(&app, "user-alice").await, 1, "alice keeps her factor");
        // The token of another browser does not carry over either.
        let other = new_browser();
        let (_, _, login) = app.get_in(&other, "/login").await;
        let theirs = hidden_input(&login, "csrf_token").unwrap();
        let (status, _, _) = app.post_in(&app.browser, "/admin/contacts/user-alice/reset-2fa", &[("csrf_token", &theirs)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(totp_count(&app, "user-alice").await, 1);
    }

    async fn operators_switch_accounts_and_reset_there(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        let portal = app.rp("portal").await;
        let mia = new_browser();
        first_sign_in_with_enrolment(&app, &mia, &portal, MIA, &[]).await;
        console_first_visit(&app, &app.browser, "otto").await;
        let (_, _, page) = app.get("/admin").await;
        assert!(page.contains(r#"<option value="acct-fortress">fortress</option>"#), "the switcher lists every account: {page}");
        let (status, _, page) = app.get("/admin?account=acct-fortress").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Required for every member"));
        // Finding a member in any account, then switching to the account they belong to.
        let (status, _, found) = app.get("/admin/find?q=MI").await;
        assert_eq!(status, StatusCode::OK);
        assert!(found.contains(r#"data-username="mia""#) && found.contains("<td>fortress</td>"), "{found}");
        let switch = link_named(&found, "Switch to the account to which the user belongs");
        assert_eq!(switch, "/admin/contacts/all?account=acct-fortress&q=mia");
        let page = all_contacts(&app, &app.browser, "?account=acct-fortress").await;
        assert_eq!(usernames_listed(&page), vec![MIA]);
        let (_, confirm) = confirm_page(&app, &app.browser, "user-mia").await;
        let (status, location, _) = app.submit_in(&app.browser, &confirm, "/admin/contacts/user-mia/reset-2fa", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some("/admin/contacts/all?account=acct-fortress&reset=user-mia"));
        assert_eq!(totp_count(&app, "user-mia").await, 0);
    }

    async fn an_administrator_resets_a_members_2fa_in_a_real_browser(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member(ADA, PASSWORD, "acct-acme", Role::Administrator).await;
        let portal = app.rp("portal").await;
        // Alice uses an authenticator app, then loses her phone; ada has hers.
        first_sign_in_with_enrolment(&app, &new_browser(), &portal, USERNAME, &[("acr_values", "aal2")]).await;
        let ada_app = console_first_visit(&app, &new_browser(), ADA).await;
        let prefix = format!("console-{}", backend.name());

        let chromium = Browser::start(&prefix, 1280, 900).await;
        chromium.goto(&app.url("/admin")).await;
        assert_eq!(chromium.path().await, "/login?next=%2Fadmin", "sent to sign in");
        chromium.fill("#username", ADA).await;
        chromium.fill("#password", PASSWORD).await;
        chromium.click_button("Sign in").await;
        assert_eq!(chromium.path().await, "/login/second-factor");
        app.state.clock.advance(30);
        chromium.fill("input[name=code]", &ada_app.generate(app.state.clock.now() as u64)).await;
        chromium.click_button("Verify").await;
        assert_eq!(chromium.path().await, "/admin");
        chromium.screenshot("overview").await;

        chromium.click_link("Contacts").await;
        chromium.screenshot("contacts").await;
        chromium.click_link("All Contacts").await;
        assert!(chromium.path().await.starts_with("/admin/contacts/all"));
        chromium.screenshot("all-contacts").await;
        let row = chromium.text_of(r#"tr[data-username="alice"]"#).await;
        assert!(row.contains("Authenticator app, 10 backup codes"), "{row}");
        chromium.click(r#"tr[data-username="alice"] a.button"#).await;
        assert_eq!(chromium.path().await, "/admin/contacts/user-alice/reset-2fa");
        assert_eq!(chromium.text_of("h1").await, "Confirm");
        chromium.screenshot("confirm-reset").await;
        // No goes back and changes nothing.
        chromium.click_link("No").await;
        assert!(chromium.path().await.starts_with("/admin/contacts/all"));
        assert!(app.state.store.active_totp("user-alice").await.unwrap().is_some());
        chromium.click(r#"tr[data-username="alice"] a.button"#).await;
        chromium.click_button("Yes").await;
        assert_eq!(chromium.path().await, "/admin/contacts/all?account=acct-acme&reset=user-alice");
        let notice = chromium.text_of("p.notice").await;
        assert_eq!(notice, "alice's two-factor authentication was reset. They will set it up again at their next sign-in.");
        let row = chromium.text_of(r#"tr[data-username="alice"]"#).await;
        assert!(row.contains("None") && row.contains("sets up at next sign-in"), "{row}");
        chromium.screenshot("after-reset").await;
        // The console on a phone.
        chromium.client.set_window_size(390, 844).await.unwrap();
        chromium.screenshot("all-contacts-phone").await;
        chromium.quit().await;

        let reset = app.state.store.audit_events_for("user-alice", 50).await.unwrap()
            .into_iter().find(|e| e.kind == "second_factor_reset").expect("the audit trail");
        assert_eq!((reset.actor_id.as_deref(), reset.ip.as_deref()), (Some(ADA_ID), Some("127.0.0.1")));

        // Alice, at her next sign-in in her own browser, enrols again.
        let phone = Browser::start(&prefix, 390, 844).await;
        let request = app.auth_request(&portal, &[]);
        phone.goto(&request.url).await;
        assert!(phone.path().await.starts_with("/login?request="));
        phone.fill("#username", USERNAME).await;
        phone.fill("#password", PASSWORD).await;
        phone.click_button("Sign in").await;
        assert_eq!(phone.path().await, "/login/enroll");
        let page = phone.source().await;
        assert!(page.contains("<svg") && page.contains("otpauth://totp/"), "a QR code and the app link");
        phone.screenshot("member-enrols-again").await;
        let fresh = authenticator_from(&page);
        phone.fill("input[name=code]", &fresh.generate(app.state.clock.now() as u64)).await;
        phone.click_button("Turn on").await;
        assert_eq!(backup_codes_on(&phone.source().await).len(), 10);
        phone.quit().await;
        assert!(app.state.store.active_totp("user-alice").await.unwrap().is_some(), "enrolled again");
    }

    async fn an_operator_walks_every_console_page_in_a_browser(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        let otto_app = console_first_visit(&app, &new_browser(), "otto").await;
        let prefix = format!("operator-{}", backend.name());
        let chromium = Browser::start(&prefix, 1280, 900).await;
        chromium.goto(&app.url("/admin")).await;
        chromium.fill("#username", "otto").await;
        chromium.fill("#password", PASSWORD).await;
        chromium.click_button("Sign in").await;
        app.state.clock.advance(30);
        chromium.fill("input[name=code]", &otto_app.generate(app.state.clock.now() as u64)).await;
        chromium.click_button("Verify").await;
        assert_eq!(chromium.path().await, "/admin");

        // Each page: shown, screenshot saved, usable at a desktop's and a phone's width.
        async fn check(chromium: &Browser, name: &str) {
            for (width, suffix) in [(1280, ""), (390, "-phone")] {
                chromium.client.set_window_size(width, 900).await.unwrap();
                let problems = chromium.accessibility_problems().await;
                assert!(problems.is_empty(), "{name}{suffix}: {problems:?}");
                chromium.screenshot(&format!("{name}{suffix}")).await;
            }
            chromium.client.set_window_size(1280, 900).await.unwrap();
        }
        check(&chromium, "overview").await;
        chromium.fill("#find-member", "mia").await;
        chromium.click_button("Find").await;
        check(&chromium, "find").await;
        chromium.click_link("Switch to the account to which the user belongs").await;
        assert_eq!(chromium.path().await, "/admin/contacts/all?account=acct-fortress&q=mia");
        check(&chromium, "all-contacts").await;
        chromium.click(r#"tr[data-username="mia"] a"#).await;
        assert_eq!(chromium.path().await, "/admin/contacts/user-mia");
        check(&chromium, "member").await;
        chromium.click_link("Reset 2FA").await;
        check(&chromium, "confirm-reset").await;
        chromium.click_link("No").await;
        chromium.click_link("Add a member").await;
        check(&chromium, "new-member").await;
        chromium.fill("#username", "nina").await;
        chromium.fill("#email", "nina@example.com").await;
        chromium.click_button("Add member").await;
        check(&chromium, "password-link").await;
        let link = chromium.client.find(fantoccini::Locator::Css("#password-link")).await.unwrap().prop("value").await.unwrap().unwrap();
        assert!(app.state.store.user_by_username("nina").await.unwrap().is_some_and(|u| u.account_id == "acct-fortress"));
        chromium.click_link("Settings").await;
        check(&chromium, "settings").await;
        chromium.fill("#failure_limit", "1").await;
        chromium.click_button("Save settings").await;
        assert!(chromium.text_of("p.error").await.contains("from 3 to 20"));
        check(&chromium, "settings-refused").await;
        chromium.fill("#failure_limit", "4").await;
        chromium.click_button("Save settings").await;
        assert!(chromium.text_of("p.notice").await.starts_with("Saved."));
        chromium.click_link("Audit log").await;
        check(&chromium, "audit-log").await;
        let log = chromium.source().await;
        assert!(log.contains(r#"data-kind="account_settings_changed""#) && log.contains(r#"data-kind="member_created""#));
        chromium.click_link("Relying parties").await;
        check(&chromium, "clients").await;
        chromium.click_link("portal").await;
        check(&chromium, "client").await;
        chromium.click_button("Rotate the secret").await;
        check(&chromium, "client-secret").await;
        chromium.click_link("Back to portal").await;
        chromium.click_link("Back to relying parties").await;
        chromium.click_link("Register a relying party").await;
        check(&chromium, "new-client").await;

        // The new member's link, in their own browser.
        chromium.quit().await;
        let member = Browser::start(&prefix, 390, 844).await;
        member.goto(&link).await;
        check(&member, "set-password").await;
        member.fill("#password", "nina's own password").await;
        member.fill("#password_again", "nina's own password").await;
        member.click_button("Set password").await;
        assert_eq!(member.text_of("h1").await, "Your password is set");
        member.quit().await;
    }
}
