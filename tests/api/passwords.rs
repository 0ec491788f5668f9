//! Passwords: the rules every form applies (length after NFKC, the
//! blocklist), hashes made again at the next sign-in, and one-time links.

use gatehouse::auth::password::{self, HashCost};
use gatehouse::auth::secret;
use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

/// Signs `username` in at the portal in a new browser: the status and
/// where it was sent.
async fn sign_in(app: &TestApp, username: &str, password: &str) -> (StatusCode, Option<String>) {
    let portal = app.rp("portal").await;
    let request = app.auth_request(&portal, &[]);
    let (status, location, _) = app
        .sign_in_through_in(&new_browser(), &request, username, password)
        .await;
    (status, location)
}

/// A one-time password link for `user_id`, as an administrator's.
async fn link_for(app: &TestApp, user_id: &str) -> String {
    let token = secret::random_token(32);
    let now = app.state.clock.now();
    app.state
        .store
        .put_password_link(&secret::token_hash(&token), user_id, now, now + 600)
        .await
        .unwrap();
    format!("{}/password?token={token}", app.base)
}

async fn stored_hash(app: &TestApp, username: &str) -> String {
    app.state
        .store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

each_backend! {
    async fn a_hash_of_other_parameters_is_made_again_at_the_next_sign_in(backend) {
        let app = TestApp::spawn(backend).await;
        let id = app.add_user("olga", "olga's long password").await;
        let older = HashCost { memory_kib: 2 * CHEAP.memory_kib, ..CHEAP };
        let old = password::hash("olga's long password", older).unwrap();
        assert!(app.state.store.replace_password_hash(&id, &stored_hash(&app, "olga").await, &old).await.unwrap());
        assert!(!password::is_current(&old, CHEAP));

        assert_eq!(sign_in(&app, "olga", "a wrong password").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(stored_hash(&app, "olga").await, old, "a wrong password changes nothing");
        let (status, location) = sign_in(&app, "olga", "olga's long password").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.unwrap().contains("code="));
        let new = stored_hash(&app, "olga").await;
        assert_ne!(new, old);
        assert!(password::is_current(&new, CHEAP), "{new}");
        assert_eq!(sign_in(&app, "olga", "olga's long password").await.0, StatusCode::SEE_OTHER, "the new hash works");
    }

    async fn passwords_are_normalised_and_old_unnormalised_hashes_still_work(backend) {
        let app = TestApp::spawn(backend).await;
        // Set through a link with "é" as "e" and a combining accent...
        let id = app.add_user("rene", "unused at first 123").await;
        let link = link_for(&app, &id).await;
        let browser = new_browser();
        let (status, _, page) = app.get_in(&browser, &link).await;
        assert_eq!(status, StatusCode::OK);
        let token = hidden_input(&page, "token").unwrap();
        let decomposed = "cafe\u{301} cre\u{300}me brule\u{301}e";
        let (status, _, done) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", decomposed), ("password_again", decomposed)]).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        // ...and signed in with it precomposed, as another keyboard types it.
        assert_eq!(sign_in(&app, "rene", "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e").await.0, StatusCode::UNAUTHORIZED, "another password is another password");
        assert_eq!(sign_in(&app, "rene", "caf\u{e9} cr\u{e8}me brul\u{e9}e").await.0, StatusCode::SEE_OTHER);
        assert_eq!(sign_in(&app, "rene", decomposed).await.0, StatusCode::SEE_OTHER);

        // A hash stored before normalisation, of the bytes as typed.
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(CHEAP.memory_kib, CHEAP.iterations, CHEAP.parallelism, None).unwrap();
        let legacy = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(decomposed.as_bytes(), &SaltString::generate(&mut argon2::password_hash::rand_core::OsRng))
            .unwrap()
            .to_string();
        assert!(app.state.store.replace_password_hash(&id, &stored_hash(&app, "rene").await, &legacy).await.unwrap());
        assert_eq!(sign_in(&app, "rene", decomposed).await.0, StatusCode::SEE_OTHER, "the old hash works once more");
        assert_ne!(stored_hash(&app, "rene").await, legacy, "and is made again, normalised");
        assert_eq!(sign_in(&app, "rene", "caf\u{e9} cr\u{e8}me brul\u{e9}e").await.0, StatusCode::SEE_OTHER);
    }

    async fn a_common_password_is_refused_with_a_clear_message_and_the_link_stays_usable(backend) {
        let app = TestApp::spawn(backend).await;
        let id = app.add_user("pia", "pia's first password").await;
        let link = link_for(&app, &id).await;
        let browser = new_browser();
        let (_, _, page) = app.get_in(&browser, &link).await;
        let token = hidden_input(&page, "token").unwrap();
        assert!(page.contains("at least 8 characters"), "{page}");
        for (common, why) in [("password1", "too common"), ("P@ssw0rd!", "too common"), ("pia@example.com", "too common"), ("short", "at least 8 characters")] {
            let (status, _, refused) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", common), ("password_again", common)]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{common}");
            assert!(refused.contains(why), "{common}: {refused}");
        }
        assert_eq!(sign_in(&app, "pia", "pia's first password").await.0, StatusCode::SEE_OTHER, "nothing was set");
        let long = "the quick brown fox jumps over the lazy dog ".repeat(3);
        let (status, _, done) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", &long), ("password_again", &long)]).await;
        assert_eq!(status, StatusCode::OK, "a password of {} characters: {done}", long.chars().count());
        assert_eq!(sign_in(&app, "pia", &long).await.0, StatusCode::SEE_OTHER);
    }

    async fn the_minimum_length_is_a_setting(backend) {
        let app = TestApp::spawn_with(backend, |config| config.min_password_length = 15).await;
        let id = app.add_user("uma", "uma's first password").await;
        let link = link_for(&app, &id).await;
        let browser = new_browser();
        let (_, _, page) = app.get_in(&browser, &link).await;
        assert!(page.contains("at least 15 characters"), "{page}");
        let token = hidden_input(&page, "token").unwrap();
        let (status, _, refused) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", "velvet orbit"), ("password_again", "velvet orbit")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("at least 15 characters"), "{refused}");
        let (status, _, _) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", "velvet orbit ladder"), ("password_again", "velvet orbit ladder")]).await;
        assert_eq!(status, StatusCode::OK);
    }
}
