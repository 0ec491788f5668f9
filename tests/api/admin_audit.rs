//! The console's audit log: what happened in an account, by whom, from
//! where; filtered by kind and member, paginated, and kept to the account.

use reqwest::StatusCode;

use crate::admin::{console_first_visit, link_named};
use crate::common::*;
use crate::each_backend;

fn kinds_listed(page: &str) -> Vec<String> {
    page.split(r#"<tr class="event" data-kind=""#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

each_backend! {
    async fn the_audit_log_shows_who_did_what_and_filters(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[]);
        let (status, _, _) = app.sign_in_through_in(&new_browser(), &request, USERNAME, "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        app.sign_in_through_in(&new_browser(), &request, MIA, "wrong password").await;
        console_first_visit(&app, &app.browser, "ada").await;
        let confirm = app.get("/admin/contacts/user-alice/reset-2fa").await.2;
        app.submit_in(&app.browser, &confirm, "/admin/contacts/user-alice/reset-2fa", &[]).await;

        let (status, _, log) = app.get("/admin/audit").await;
        assert_eq!(status, StatusCode::OK);
        let kinds = kinds_listed(&log);
        assert_eq!(kinds.first().map(String::as_str), Some("second_factor_reset"), "newest first: {kinds:?}");
        assert!(kinds.contains(&"password_failed".into()) && kinds.contains(&"totp_enrolled".into()), "{kinds:?}");
        let reset_row = &log[log.find(r#"data-kind="second_factor_reset""#).unwrap()..];
        let reset_row = &reset_row[..reset_row.find("</tr>").unwrap()];
        assert!(reset_row.contains(r#"<td data-label="Member">alice</td><td data-label="By">ada</td><td data-label="From">127.0.0.1</td>"#), "whom, by whom, from where: {reset_row}");
        assert!(!log.contains(">mia<"), "nothing from another account");

        let (_, _, failed) = app.get("/admin/audit?kind=password_failed").await;
        assert_eq!(kinds_listed(&failed), vec!["password_failed"]);
        let (_, _, of_ada) = app.get("/admin/audit?member=ada").await;
        assert!(!kinds_listed(&of_ada).is_empty() && !of_ada.contains(">alice</td>"));
        let (_, _, of_mia) = app.get("/admin/audit?member=mia").await;
        assert!(of_mia.contains("There is no member mia in acme") && kinds_listed(&of_mia).is_empty());
        let (status, _, _) = app.get("/admin/audit?kind=nonsense&page=x").await;
        assert_eq!(status, StatusCode::OK, "odd filters are ignored");
        assert_eq!(app.get("/admin/audit?account=acct-fortress").await.0, StatusCode::FORBIDDEN);
    }

    async fn the_audit_log_pages_through_many_events(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let before = kinds_listed(&app.get("/admin/audit").await.2).len();
        for n in 0..60 {
            app.state.store.audit(gatehouse::store::NewAuditEvent {
                kind: "password_failed", account_id: Some("acct-acme"), user_id: Some("user-alice"),
                actor_id: None, ip: Some("192.0.2.1"), detail: serde_json::json!({ "n": n }), now: app.state.clock.now() - 1000 + n / 7,
            }).await.unwrap();
        }
        let (_, _, first) = app.get("/admin/audit").await;
        assert_eq!(kinds_listed(&first).len(), 50);
        let (_, _, second) = app.get(&link_named(&first, "Older events")).await;
        assert_eq!(kinds_listed(&second).len(), before + 60 - 50);
        assert!(!second.contains(">Older events<"));
        assert!(second.contains(">Newer events<"));
        assert!(first.contains(r#"{&quot;n&quot;:59}"#), "the newest of them on the first page");
        // Seven events a second: the page's edge falls inside a second, and
        // no event is shown twice or skipped.
        let shown = |page: &str| -> Vec<i64> {
            page.split("{&quot;n&quot;:").skip(1).map(|rest| rest[..rest.find('}').unwrap()].parse().unwrap()).collect()
        };
        let mut seen = [shown(&first), shown(&second)].concat();
        assert_eq!(seen, (0..60).rev().collect::<Vec<i64>>(), "newest first, each once");
        seen.dedup();
        assert_eq!(seen.len(), 60);
        let older = link_named(&first, "Older events");
        assert!(older.contains("&older="), "a page goes on from the last event shown: {older}");
        let (_, _, back) = app.get(&link_named(&second, "Newer events")).await;
        assert_eq!(shown(&back), shown(&first), "and comes back to the same page");
        assert!(!back.contains(">Newer events<") && back.contains(">Older events<"));
        for odd in ["older=12", "older=x.y", "newer=1.", "older=99999999999999999999.a"] {
            let (status, _, page) = app.get(&format!("/admin/audit?{odd}")).await;
            assert_eq!(status, StatusCode::OK, "{odd}");
            assert!(page.contains(r#"{&quot;n&quot;:59}"#), "a cursor that does not read starts at the newest: {odd}");
        }
        let (_, _, mine) = app.get("/admin/audit?member=alice&kind=password_failed").await;
        assert_eq!(kinds_listed(&mine).len(), 50, "a member's events of one kind");
    }
}
