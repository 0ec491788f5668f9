//! Signs `N` tokens with the provider's own keys, as the token endpoint
//! does: for `bench/callgrind.sh`, which runs it under callgrind with `N`
//! and with 0, so that the difference is the cost of `N` signatures (the
//! claims serialised, the header, base64, the signature).
//!
//!   sign_cost KEYS_DIR RS256|ES256|EdDSA N

use gatehouse::oidc::claims::{self, Authentication, Subject, ID_TOKEN_TYP};
use gatehouse::oidc::keys::{Alg, SigningKeys};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: sign_cost KEYS_DIR RS256|ES256|EdDSA N";
    let dir = std::path::PathBuf::from(args.next().expect(usage));
    let alg = Alg::parse(&args.next().expect(usage)).expect(usage);
    let n: usize = args.next().and_then(|n| n.parse().ok()).expect(usage);
    let now = 1_800_000_000;
    let keys = SigningKeys::open(&dir, now, 86_400).expect("the keys open");
    let subject = Subject {
        id: "0123456789abcdef0123456789abcdef",
        username: "bench",
        email: "bench@example.com",
    };
    let amr = vec!["pwd".to_string()];
    let auth = Authentication {
        sid: "fedcba9876543210fedcba9876543210",
        auth_time: now,
        acr: "aal1",
        amr: &amr,
    };
    let mut total = 0;
    for i in 0..n {
        let nonce = format!("nonce-{i}");
        let claims = claims::id_token(
            "http://127.0.0.1:3100",
            "bench",
            &subject,
            &auth,
            Some(&nonce),
            "openid",
            now,
            300,
        );
        total += keys.sign(alg, ID_TOKEN_TYP, &claims).expect("signs").len();
    }
    println!("{n} tokens, {total} bytes");
}
