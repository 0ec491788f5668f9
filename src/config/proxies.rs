//! `trusted_proxies` and `forwarded_header` parsed: the proxies whose word
//! on the client's address is believed, and the header they write it in.

use super::{Config, ConfigError};

/// The proxies whose word on the client's address is believed, and the header
/// they write it in.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    pub nets: Vec<ipnet::IpNet>,
    pub header: ForwardedHeader,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl Config {
    /// The trusted proxies and their header, parsed.
    pub fn proxies(&self) -> Result<TrustedProxies, ConfigError> {
        let header = match self.forwarded_header.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ForwardedHeader::XForwardedFor,
            "forwarded" => ForwardedHeader::Forwarded,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "forwarded_header must be \"x-forwarded-for\" or \"forwarded\", not {other:?}"
                )))
            }
        };
        let nets = self
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::Invalid(format!(
                            "trusted_proxies: {p:?} is neither an IP address nor a CIDR range"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets, header })
    }
}
