//! criterion benchmarks of the functions on the hot paths: ID-token signing
//! per algorithm, TOTP verification, the PKCE check, sealing and opening an
//! authorization code, authorization-request parsing, and the session lookup
//! every authorization request makes.

use criterion::{criterion_group, criterion_main, Criterion};
use gatehouse::auth::vault::Vault;
use gatehouse::auth::{secret, totp};
use gatehouse::oidc::auth_code::CodeGrant;
use gatehouse::oidc::authorize_request::{AuthorizeRequest, Target};
use gatehouse::oidc::claims::{self, Authentication, Subject};
use gatehouse::oidc::keys::{Alg, SigningKeys};
use gatehouse::oidc::params::Params;
use gatehouse::oidc::pkce;
use gatehouse::store::{NewSession, NewTenant, NewUser, Store};

const NOW: i64 = 1_800_000_000;

fn signing(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let keys = SigningKeys::open(dir.path(), NOW, 3600).unwrap();
    let amr = vec!["pwd".to_string(), "otp".to_string(), "mfa".to_string()];
    let subject = Subject {
        id: "0123456789abcdef0123456789abcdef",
        username: "ann",
        email: "ann@example.com",
    };
    let auth = Authentication {
        sid: "fedcba9876543210fedcba9876543210",
        auth_time: NOW,
        acr: "aal2",
        amr: &amr,
    };
    let id_token = claims::id_token(
        "http://localhost:8080",
        "portal",
        &subject,
        &auth,
        Some("n-0S6_WzA2Mj"),
        "openid email",
        NOW,
        3600,
    );
    for alg in Alg::ALL {
        c.bench_function(&format!("sign ID token {}", alg.name()), |b| {
            b.iter(|| keys.sign(alg, "JWT", &id_token).unwrap())
        });
    }
    let token = keys.sign(Alg::RS256, "JWT", &id_token).unwrap();
    c.bench_function("verify RS256", |b| b.iter(|| keys.verify(&token).unwrap()));
}

fn codes(c: &mut Criterion) {
    let secret = totp::new_secret();
    let code = totp::code_at(&secret, NOW).unwrap();
    c.bench_function("TOTP verify", |b| {
        b.iter(|| totp::verify(&secret, &code, NOW, 0).unwrap())
    });
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    c.bench_function("PKCE S256 check", |b| {
        b.iter(|| assert!(pkce::verify_s256(challenge, verifier)))
    });
    c.bench_function("token hash", |b| {
        b.iter(|| secret::token_hash("0S6_WzA2MjExYmY0YWRjMzAzNWIyZmU4MmU5NTcz"))
    });
    let vault = Vault::from_master(&[7u8; 32]);
    let grant = CodeGrant {
        grant_id: secret::random_id(),
        client_id: "portal".into(),
        user_id: secret::random_id(),
        sid: secret::random_id(),
        scope: "openid email offline_access".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: NOW,
        acr: "aal2".into(),
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        redirect_uri: "https://portal.example.com/callback".into(),
        code_challenge: Some(challenge.into()),
        expires_at: NOW + 60,
    };
    c.bench_function("authorization code seal", |b| b.iter(|| grant.seal(&vault)));
    let code = grant.seal(&vault).unwrap();
    c.bench_function("authorization code open", |b| {
        b.iter(|| CodeGrant::open(&vault, &code).unwrap())
    });
}

fn parsing(c: &mut Criterion) {
    let query = b"response_type=code&client_id=portal&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid+profile+email\
&state=Yp3yD9y0a1b2c3&nonce=n-0S6_WzA2Mj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    c.bench_function("authorization request parse", |b| {
        b.iter(|| {
            let params = Params::parse(query);
            let target = Target::from_params(&params).unwrap();
            AuthorizeRequest::from_params(&params, target, false).unwrap()
        })
    });
}

fn session_lookup(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let factors = vec!["totp".to_string()];
        store
            .create_tenant(NewTenant {
                id: "a",
                name: "acme",
                require_mfa: false,
                factors: &factors,
                now: NOW,
            })
            .await
            .unwrap();
        let user = NewUser {
            id: "u",
            account_id: "a",
            username: "ann",
            email: "ann@example.com",
            password_hash: "x",
            is_admin: false,
            is_operator: false,
            now: NOW,
        };
        store.create_user(user).await.unwrap();
        let amr = vec!["pwd".to_string()];
        let session = NewSession {
            id_hash: &secret::token_hash("cookie"),
            sid: "s",
            user_id: "u",
            auth_time: NOW,
            acr: gatehouse::auth::acr::Acr::Aal1,
            amr: &amr,
            ip: None,
            user_agent: None,
            expires_at: NOW + 86400,
            idle_secs: 3600,
            reauthenticated_at: Some(NOW),
        };
        store.create_session(session).await.unwrap();
        store
    });
    let hash = secret::token_hash("cookie");
    c.bench_function("session lookup (SQLite)", |b| {
        b.iter(|| {
            runtime
                .block_on(store.live_session(&hash, NOW + 10))
                .unwrap()
                .unwrap()
        })
    });
}

criterion_group!(benches, signing, codes, parsing, session_lookup);
criterion_main!(benches);
