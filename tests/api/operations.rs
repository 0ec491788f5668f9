//! Running it: health and readiness, and the purge of what has expired.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

each_backend! {
    async fn health_and_readiness_answer_and_readiness_follows_the_database(backend) {
        let app = TestApp::spawn(backend).await;
        let response = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "ok\n");
        let response = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "status": "ready", "database": "ok", "migrations": "applied", "keys": "loaded" }));

        // The database goes away: not ready, at once, and the process still answers.
        app.state.store.close().await;
        let started = std::time::Instant::now();
        let response = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "answered within the second it may wait");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!((body["status"].as_str(), body["database"].as_str()), (Some("not ready"), Some("unreachable")));
        assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), StatusCode::OK);
    }

    async fn the_purge_removes_what_expired_and_keeps_what_lives(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let request = app.auth_request(&portal, &[("prompt", "login")]);
        app.sign_in_through_in(&new_browser(), &request, USERNAME, "wrong password").await;
        let nothing_yet = gatehouse::housekeeping::purge(&app.state).await.unwrap();
        assert_eq!(nothing_yet.sessions + nothing_yet.refresh_tokens + nothing_yet.grants, 0, "nothing live is purged: {nothing_yet:?}");

        // A month and a day later everything of that sign-in has expired.
        app.state.clock.advance(app.state.config.refresh_token_lifetime_secs + 86_400);
        let fresh = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (status, _, _) = app.sign_in_through_in(&fresh, &request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let purged = gatehouse::housekeeping::purge(&app.state).await.unwrap();
        assert!(purged.sessions >= 1 && purged.codes >= 1 && purged.refresh_tokens >= 1 && purged.grants >= 1, "{purged:?}");
        assert!(purged.rows > purged.sessions + purged.codes + purged.refresh_tokens + purged.grants, "the failure counter too: {purged:?}");
        assert_eq!(app.get_in(&fresh, "/account").await.0, StatusCode::OK, "the live session stays");
        let again = gatehouse::housekeeping::purge(&app.state).await.unwrap();
        assert_eq!(again.rows, 0, "a second purge finds nothing: {again:?}");
    }
}
