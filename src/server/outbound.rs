//! Outbound HTTP to addresses a user typed (a JWKS location): only public
//! internet addresses, every DNS answer checked and the connection pinned to
//! the checked addresses, redirects followed by hand and checked again, the
//! body streamed under a byte cap and the whole fetch under one deadline.

use reqwest::Url;
use reqwest::header::LOCATION;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// Whether `ip` is an ordinary public internet address: false for loopback,
/// private, link-local, shared (CGNAT), documentation, benchmarking,
/// multicast, reserved and unspecified ranges, and for every IPv6 form that
/// embeds or translates to an IPv4 address (mapped, compatible, NAT64, 6to4,
/// Teredo) — those are refused outright rather than unpacked.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", 0.0.0.0/8
        || a == 127 // loopback
        || a == 10 // private
        || (a == 172 && b & 0xf0 == 16) // private 172.16/12
        || (a == 192 && b == 168) // private
        || (a == 169 && b == 254) // link-local (cloud metadata)
        || (a == 100 && b & 0xc0 == 64) // shared address space (CGNAT) 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && b & 0xfe == 18) // benchmarking 198.18/15
        || (a == 192 && b == 0 && c == 2) // documentation TEST-NET-1
        || (a == 198 && b == 51 && c == 100) // documentation TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // documentation TEST-NET-3
        || a & 0xf0 == 224 // multicast 224/4
        || a >= 240; // reserved 240/4, including broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let refused = s[..6] == [0, 0, 0, 0, 0, 0] // unspecified, loopback, IPv4-compatible ::/96
        || s[..6] == [0, 0, 0, 0, 0, 0xffff] // IPv4-mapped ::ffff:0:0/96
        || s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0]) // NAT64 64:ff9b::/96
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local NAT64 64:ff9b:1::/48
        || s[0] & 0xfe00 == 0xfc00 // unique local fc00::/7
        || s[0] & 0xffc0 == 0xfe80 // link-local fe80::/10
        || s[0] & 0xffc0 == 0xfec0 // site-local fec0::/10 (deprecated)
        || s[0] & 0xff00 == 0xff00 // multicast ff00::/8
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || s[0] == 0x2002 // 6to4 2002::/16
        || (s[0] == 0x2001 && s[1] == 0); // Teredo 2001::/32
    !refused
}

/// Why an outbound fetch failed; `Display` is a short sentence for the user
/// and never carries the remote answer (status or body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("The address is not a valid URL.")]
    BadUrl,
    #[error("The address must be an https URL.")]
    Scheme,
    #[error("The address is not allowed: it points into a private or local network.")]
    NotAllowed,
    #[error("The server could not be reached (or its certificate was not accepted).")]
    Unreachable,
    #[error("The server did not answer in time.")]
    Timeout,
    #[error("The document is larger than allowed.")]
    TooLarge,
    #[error("The server did not answer with the document.")]
    BadStatus,
    #[error("The server redirected too many times.")]
    TooManyRedirects,
}

/// A successful (2xx) answer: its body, and the URL it finally came from.
#[derive(Debug)]
pub struct Fetched {
    pub url: Url,
    pub body: Vec<u8>,
}

/// Where outbound requests may go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outbound {
    /// Development only: also allow this machine's loopback addresses
    /// (127.0.0.0/8, ::1), over https or plain http.
    pub allow_loopback: bool,
}

/// A checked target: the addresses the connection is pinned to, and the
/// domain to pin (none for an IP literal, which is never resolved).
struct Target {
    domain: Option<String>,
    addrs: Vec<SocketAddr>,
}

impl Outbound {
    /// GETs `url` under the policy: at most `max_bytes` of body, everything
    /// (every hop and the body) within `timeout`.
    pub async fn get_limited(
        &self,
        url: &str,
        validate_cert: bool,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(timeout, self.fetch(url, validate_cert, max_bytes)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(?timeout, "outbound fetch timed out");
                Err(FetchError::Timeout)
            }
        }
    }

    async fn fetch(
        &self,
        url: &str,
        validate_cert: bool,
        max_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        let mut url = Url::parse(url.trim()).map_err(|_| FetchError::BadUrl)?;
        let mut redirects = 0;
        loop {
            let target = self.check(&url).await?;
            let response = get_pinned(&target, &url, validate_cert).await?;
            let status = response.status();
            if status.is_redirection() {
                let next = next_hop(&response, &url)?;
                if redirects == MAX_REDIRECTS {
                    tracing::warn!(host = %host_of(&url), "too many redirects");
                    return Err(FetchError::TooManyRedirects);
                }
                redirects += 1;
                url = next;
                continue;
            }
            if !status.is_success() {
                tracing::warn!(host = %host_of(&url), %status, "outbound request refused");
                return Err(FetchError::BadStatus);
            }
            let body = read_capped(response, &url, max_bytes).await?;
            return Ok(Fetched { url, body });
        }
    }

    /// Checks the scheme and every address the host stands for.
    async fn check(&self, url: &Url) -> Result<Target, FetchError> {
        let https = match url.scheme() {
            "https" => true,
            "http" if self.allow_loopback => false,
            _ => return Err(FetchError::Scheme),
        };
        let host = url.host_str().ok_or(FetchError::BadUrl)?;
        let port = url.port_or_known_default().ok_or(FetchError::BadUrl)?;
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .parse::<IpAddr>()
            .ok();
        // Plain http only ever goes to loopback: don't even resolve others.
        if !https && literal.is_none() && host != "localhost" {
            return Err(FetchError::Scheme);
        }
        let target = match literal {
            Some(ip) => Target {
                domain: None,
                addrs: vec![SocketAddr::new(ip, port)],
            },
            None => {
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                    .await
                    .map_err(|e| {
                        tracing::warn!(host, error = %e, "outbound DNS lookup failed");
                        FetchError::Unreachable
                    })?
                    .collect();
                if addrs.is_empty() {
                    tracing::warn!(host, "outbound DNS lookup returned no address");
                    return Err(FetchError::Unreachable);
                }
                Target {
                    domain: Some(host.to_owned()),
                    addrs,
                }
            }
        };
        for addr in &target.addrs {
            let ip = addr.ip();
            let loopback = self.allow_loopback && ip.is_loopback();
            if !(loopback || is_public_ip(ip)) {
                tracing::warn!(host, %ip, "outbound address refused");
                return Err(FetchError::NotAllowed);
            }
            if !https && !loopback {
                tracing::warn!(host, %ip, "plain http to a non-loopback address refused");
                return Err(FetchError::Scheme);
            }
        }
        Ok(target)
    }
}

/// GETs `url` (no redirects, no proxy) with the connection pinned to the
/// checked addresses of `target`.
async fn get_pinned(
    target: &Target,
    url: &Url,
    validate_cert: bool,
) -> Result<reqwest::Response, FetchError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .danger_accept_invalid_certs(!validate_cert);
    if let Some(domain) = &target.domain {
        builder = builder.resolve_to_addrs(domain, &target.addrs);
    }
    let client = builder.build().map_err(|e| {
        tracing::warn!(error = %e, "building the outbound HTTP client failed");
        FetchError::Unreachable
    })?;
    client.get(url.clone()).send().await.map_err(|e| {
        tracing::warn!(host = %host_of(url), error = %e, "outbound request failed");
        transport_error(&e)
    })
}

/// Where a redirect from `url` points, resolved against it.
fn next_hop(response: &reqwest::Response, url: &Url) -> Result<Url, FetchError> {
    let next = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| url.join(location).ok());
    next.ok_or_else(|| {
        let status = response.status();
        tracing::warn!(host = %host_of(url), %status, "redirect without a usable Location");
        FetchError::BadStatus
    })
}

/// The body, streamed, refused as soon as it would exceed `max_bytes`.
async fn read_capped(
    mut response: reqwest::Response,
    url: &Url,
    max_bytes: usize,
) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        tracing::warn!(host = %host_of(url), "outbound answer too large (Content-Length)");
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        tracing::warn!(host = %host_of(url), error = %e, "reading the outbound answer failed");
        transport_error(&e)
    })? {
        if body.len() + chunk.len() > max_bytes {
            tracing::warn!(host = %host_of(url), max_bytes, "outbound answer too large");
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport_error(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else {
        FetchError::Unreachable
    }
}

/// Host and port for the logs (no path, query or user info).
fn host_of(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests;
