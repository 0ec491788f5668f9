//! An `id_token_hint` (or any bearer token): verified against real keys.
#![no_main]

use std::sync::OnceLock;

use gatehouse::oidc::keys::SigningKeys;
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static SigningKeys {
    static KEYS: OnceLock<SigningKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("gatehouse-fuzz-keys-{}", std::process::id()));
        SigningKeys::open(&dir, 1_800_000_000, 3600).expect("keys")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = keys().verify(token);
    }
});
