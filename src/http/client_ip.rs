//! The client's address: the connection's peer, or, when the peer is a
//! trusted proxy (`trusted_proxies`), the nearest untrusted hop in the one
//! header those proxies append to (`forwarded_header`: `X-Forwarded-For` or
//! RFC 7239 `Forwarded`). Used by the rate limits, the session list and the
//! audit log.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::app::AppState;
use crate::config::{ForwardedHeader, TrustedProxies};

/// The client's address, as far as the trusted proxies vouch for it.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Infallible> {
        Ok(ClientIp(of_parts(parts, &app.trusted_proxies)))
    }
}

/// The client's address of a request's parts.
pub fn of_parts(parts: &Parts, trusted: &TrustedProxies) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| {
            peer.ip()
        });
    resolve(peer, &parts.headers, trusted)
}

/// `peer`, or the hop that trusted proxies in front of it forwarded for.
///
/// The header is walked from the right (the hop the nearest proxy added)
/// while each hop is a trusted proxy; the first untrusted hop is the client.
/// A hop that is not an address (`unknown`, `a`, empty, `1.2.3`) ends the
/// walk at the peer: nothing written before it can be believed.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.nets.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    for hop in forwarded_hops(headers, trusted.header).iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return *ip,
            None => return peer,
        }
    }
    peer
}

/// The addresses of the configured header, from the client to the nearest
/// proxy; `None` for a hop that names no address.
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Vec::new();
    }
    // A value that is not text cannot be read: it names no address.
    let joined: Option<Vec<&str>> = values.map(|v| v.to_str().ok()).collect();
    let Some(joined) = joined else {
        return vec![None];
    };
    let joined = joined.join(",");
    let hops = joined.split(',');
    match header {
        ForwardedHeader::XForwardedFor => hops.map(address).collect(),
        ForwardedHeader::Forwarded => hops
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| address(value))
            })
            .collect(),
    }
}

/// An address as proxies write it: bare, quoted, bracketed, with or without a port.
fn address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = text.strip_prefix('[')?;
    bracketed.split(']').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(nets: &str, header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies {
            nets: nets.split(',').map(|n| n.trim().parse().unwrap()).collect(),
            header,
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let trusted = proxies("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            resolve(ip("198.51.100.7"), &h, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &h, &TrustedProxies::default()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let trusted = proxies("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "192.0.2.1, 203.0.113.9, 10.1.1.1")]);
        // The client may have sent its own header: only the hop the proxies added counts.
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
        let trusted = proxies("10.0.0.0/8", ForwardedHeader::Forwarded);
        let h = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=https, for="[2001:db8::1]:4711""#,
        )]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("2001:db8::1"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("10.0.0.2"));
        assert_eq!(
            resolve(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn only_the_configured_header_is_believed() {
        // The proxy appends X-Forwarded-For; the client sent a Forwarded of its own.
        let h = headers(&[
            ("forwarded", "for=192.0.2.99"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        let xff = proxies("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &xff), ip("203.0.113.9"));
        // And the other way round.
        let h = headers(&[
            ("x-forwarded-for", "192.0.2.99"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        let fwd = proxies("10.0.0.0/8", ForwardedHeader::Forwarded);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &fwd), ip("203.0.113.9"));
        // A proxy that sets neither: the peer.
        let h = headers(&[("x-forwarded-for", "192.0.2.99")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &fwd), ip("10.0.0.2"));
    }

    #[test]
    fn a_malformed_hop_falls_back_to_the_peer_and_skips_nothing() {
        let trusted = proxies("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        for value in [
            "a",
            "",
            " ",
            "1.2.3",
            "203.0.113.9, a",
            "203.0.113.9, , 10.1.1.1",
            "203.0.113.9,1.2.3,10.1.1.1",
            "203.0.113.9, 10.1.1.1,",
        ] {
            let h = headers(&[("x-forwarded-for", value)]);
            assert_eq!(
                resolve(ip("10.0.0.2"), &h, &trusted),
                ip("10.0.0.2"),
                "{value:?}"
            );
        }
        let trusted = proxies("10.0.0.0/8", ForwardedHeader::Forwarded);
        for value in ["for=a", "", "for=1.2.3", "for=203.0.113.9, by=10.1.1.1"] {
            let h = headers(&[("forwarded", value)]);
            assert_eq!(
                resolve(ip("10.0.0.2"), &h, &trusted),
                ip("10.0.0.2"),
                "{value:?}"
            );
        }
    }

    #[test]
    fn addresses_come_in_several_spellings() {
        assert_eq!(address(" 192.0.2.1 "), Some(ip("192.0.2.1")));
        assert_eq!(address("192.0.2.1:8080"), Some(ip("192.0.2.1")));
        assert_eq!(address(r#""[2001:db8::1]:80""#), Some(ip("2001:db8::1")));
        assert_eq!(address("_hidden"), None);
        assert_eq!(address("1.2.3"), None);
    }
}
