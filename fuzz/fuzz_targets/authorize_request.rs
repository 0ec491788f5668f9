//! The authorization request: any query string or form body is parsed and
//! checked without a panic.
#![no_main]

use gatehouse::oidc::authorize_request::{AuthorizeRequest, Target};
use gatehouse::oidc::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = Params::parse(data);
    if let Ok(target) = Target::from_params(&params) {
        let public = data.first().is_some_and(|b| b & 1 == 1);
        if let Ok(request) = AuthorizeRequest::from_params(&params, target, public) {
            let _ = request.wants_aal2();
            let _ = request.satisfied_by(gatehouse::auth::acr::Acr::Aal1, 0, false, 1_800_000_000);
            let _ = request.session_too_old(0, 1_800_000_000);
        }
    }
});
