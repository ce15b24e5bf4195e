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
            let mut response = client.get(url.clone()).send().await.map_err(|e| {
                tracing::warn!(host = %host_of(&url), error = %e, "outbound request failed");
                if e.is_timeout() {
                    FetchError::Timeout
                } else {
                    FetchError::Unreachable
                }
            })?;
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|location| url.join(location).ok());
                let Some(next) = next else {
                    tracing::warn!(host = %host_of(&url), %status, "redirect without a usable Location");
                    return Err(FetchError::BadStatus);
                };
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
            if response
                .content_length()
                .is_some_and(|n| n > max_bytes as u64)
            {
                tracing::warn!(host = %host_of(&url), "outbound answer too large (Content-Length)");
                return Err(FetchError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| {
                tracing::warn!(host = %host_of(&url), error = %e, "reading the outbound answer failed");
                if e.is_timeout() {
                    FetchError::Timeout
                } else {
                    FetchError::Unreachable
                }
            })? {
                if body.len() + chunk.len() > max_bytes {
                    tracing::warn!(host = %host_of(&url), max_bytes, "outbound answer too large");
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
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

/// Host and port for the logs (no path, query or user info).
fn host_of(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public_ip(s.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        for refused in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!public(refused), "{refused} should be refused");
        }
        for allowed in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "192.0.1.1",
            "223.255.255.255",
        ] {
            assert!(public(allowed), "{allowed} should be allowed");
        }
    }

    #[test]
    fn ipv6_classes() {
        for refused in [
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::7f00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "100::1",
            "fc00::1",
            "fd00::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(!public(refused), "{refused} should be refused");
        }
        for allowed in [
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450::1",
            "64:ff9b:2::1",
            "2001:1::1",
        ] {
            assert!(public(allowed), "{allowed} should be allowed");
        }
    }

    fn strict() -> Outbound {
        Outbound::default()
    }

    fn dev() -> Outbound {
        Outbound {
            allow_loopback: true,
        }
    }

    async fn get(policy: Outbound, url: &str) -> Result<Fetched, FetchError> {
        policy
            .get_limited(url, true, 1024, Duration::from_secs(5))
            .await
    }

    #[tokio::test]
    async fn private_literals_and_schemes_are_refused_before_connecting() {
        for url in [
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0177.0.0.1/",
            "https://127.1/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00::1]/",
            "https://localhost/",
        ] {
            assert_eq!(
                get(strict(), url).await.unwrap_err(),
                FetchError::NotAllowed,
                "{url}"
            );
        }
        for url in [
            "http://example.com/",
            "ftp://example.com/",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                get(strict(), url).await.unwrap_err(),
                FetchError::Scheme,
                "{url}"
            );
        }
        // The development switch allows loopback only, and never mapped forms.
        assert_eq!(
            get(dev(), "http://example.com/").await.unwrap_err(),
            FetchError::Scheme
        );
        for url in [
            "http://10.0.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
        ] {
            assert_eq!(
                get(dev(), url).await.unwrap_err(),
                FetchError::NotAllowed,
                "{url}"
            );
        }
        assert_eq!(
            get(strict(), "not a url").await.unwrap_err(),
            FetchError::BadUrl
        );
    }

    /// Serves a few routes on a free loopback port; returns its port.
    async fn server() -> u16 {
        use axum::http::StatusCode;
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let found = |to: String| (StatusCode::FOUND, [("location", to)]);
        let app = axum::Router::new()
            .route("/doc", get(|| async { "the document" }))
            .route("/big", get(|| async { "x".repeat(4096) }))
            .route(
                "/secret",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "SECRET") }),
            )
            .route("/to-doc", get(move || async move { found("/doc".into()) }))
            .route(
                "/to-private",
                get(move || async move { found("http://10.0.0.1/".into()) }),
            )
            .route(
                "/to-mapped",
                get(move || async move { found(format!("http://[::ffff:127.0.0.1]:{port}/doc")) }),
            )
            .route("/loop", get(move || async move { found("/loop".into()) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        port
    }

    #[tokio::test]
    async fn redirects_are_followed_and_checked_again() {
        let port = server().await;
        let base = format!("http://127.0.0.1:{port}");
        let ok = get(dev(), &format!("{base}/to-doc")).await.unwrap();
        assert_eq!(ok.body, b"the document");
        assert_eq!(ok.url.path(), "/doc");
        let localhost = get(dev(), &format!("http://localhost:{port}/doc")).await;
        assert_eq!(localhost.unwrap().body, b"the document");
        assert_eq!(
            get(dev(), &format!("{base}/to-private")).await.unwrap_err(),
            FetchError::NotAllowed
        );
        assert_eq!(
            get(dev(), &format!("{base}/to-mapped")).await.unwrap_err(),
            FetchError::NotAllowed
        );
        assert_eq!(
            get(dev(), &format!("{base}/loop")).await.unwrap_err(),
            FetchError::TooManyRedirects
        );
        // Without the switch the local server is not reachable at all.
        assert_eq!(
            get(strict(), &format!("https://127.0.0.1:{port}/doc"))
                .await
                .unwrap_err(),
            FetchError::NotAllowed
        );
    }

    #[tokio::test]
    async fn size_status_and_time_limits() {
        let port = server().await;
        let base = format!("http://127.0.0.1:{port}");
        assert_eq!(
            get(dev(), &format!("{base}/big")).await.unwrap_err(),
            FetchError::TooLarge
        );
        let secret = get(dev(), &format!("{base}/secret")).await.unwrap_err();
        assert_eq!(secret, FetchError::BadStatus);
        assert!(!secret.to_string().contains("SECRET") && !secret.to_string().contains("500"));
        assert_eq!(
            get(dev(), &format!("{base}/missing")).await.unwrap_err(),
            FetchError::BadStatus
        );

        // A server that accepts but never answers runs into the deadline.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_port = silent.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                held.push(socket);
            }
        });
        let slow = dev()
            .get_limited(
                &format!("http://127.0.0.1:{silent_port}/"),
                true,
                1024,
                Duration::from_millis(300),
            )
            .await;
        assert_eq!(slow.unwrap_err(), FetchError::Timeout);
    }
}
