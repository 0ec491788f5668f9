//! What the pages say about the services' outcomes: the service layer
//! answers with values (`Sent`, `EnrolmentRefusal`), and the sentences a
//! person reads are written here, once.

use crate::service::factors::contact_codes::Sent;
use crate::service::factors::EnrolmentRefusal;

/// The notice after asking for a code (`verb` is "emailed" or "texted";
/// `to_whom` follows the address), and whether a code went.
pub fn code_sent(sent: &Sent, verb: &str, to_whom: &str) -> (String, bool) {
    match sent {
        Sent::Sent { to } => (
            format!("We {verb} a code to {to}{to_whom}. Enter it below: it works for 10 minutes."),
            true,
        ),
        Sent::TooSoon { wait_secs } => (
            format!("A code was sent less than a minute ago: check your messages, or ask again in {wait_secs} seconds."),
            false,
        ),
        Sent::TooMany => (
            "You were sent as many codes as a day allows: try again tomorrow, or ask your administrator.".into(),
            false,
        ),
    }
}

/// Why a code from the app did not turn it on.
pub fn enrolment_refused(refusal: EnrolmentRefusal) -> &'static str {
    match refusal {
        EnrolmentRefusal::Expired => "This setup has expired. Scan the new code below.",
        EnrolmentRefusal::Malformed => "Enter the 6-digit code from your authenticator app.",
        EnrolmentRefusal::Wrong => {
            "That code is not right. Check the time on your phone and try again."
        }
    }
}
