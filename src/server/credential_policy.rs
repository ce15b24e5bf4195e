//! The rules of a credential's restrictions (docs/PAGES.md#credential-restrictions,
//! docs/CONSUMER-API.md#credential-restrictions): checking what an admin typed
//! into the form ([`validate`]), and deciding at request time whether a
//! stored credential may serve a client ([`check`]).
//!
//! [`check`] is given the columns as read from the database in the request
//! (by the store, inside the same transaction as the rest of the call):
//! nothing is cached, so an expiry that passes or an allowlist that changes
//! applies to the very next request, on every instance.

use super::config::Cidr;
use crate::error::AppError;
use crate::model::{
    ALLOWANCE_MAX, ALLOWLIST_MAX_ENTRIES, CredentialPolicy, EXPIRY_MAX_DAYS, Expiry, PolicyView,
    format_timestamp, has_hidden_characters,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The longest allowlist text looked at: 32 of the longest IPv6 blocks with
/// separators fit easily; anything longer is refused before it is split.
const ALLOWLIST_MAX_BYTES: usize = 4096;

/// The restrictions in the form the store keeps: `ip_allowlist` is the
/// normalised blocks joined by commas (`""`: any address).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredPolicy {
    pub expires_at: Option<i64>,
    pub ip_allowlist: String,
    pub daily_cap: Option<i64>,
}

/// What a credential is, for the messages and whether a daily cap applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    SandboxToken,
    ApiKey,
}

/// Checks a form against the rules and gives its stored form, or a
/// validation error naming each wrong field (`expires_at`, `ip_allowlist`,
/// `daily_cap`); nothing is stored then. `stored_expiry` is the
/// credential's expiry as it is now: sent back unchanged it is kept even
/// if it has passed, so an expired token can still be renamed.
pub fn validate(
    form: &CredentialPolicy,
    kind: CredentialKind,
    stored_expiry: Option<i64>,
    now: i64,
) -> Result<StoredPolicy, AppError> {
    let mut fields = BTreeMap::new();
    if let Some(message) = expiry_error(form.expires_at, stored_expiry, now) {
        fields.insert("expires_at", message);
    }
    let allowlist = match parse_allowlist(&form.ip_allowlist) {
        Ok(blocks) => blocks,
        Err(message) => {
            fields.insert("ip_allowlist", message);
            Vec::new()
        }
    };
    if let Some(message) = daily_cap_error(form.daily_cap, kind) {
        fields.insert("daily_cap", message);
    }
    if !fields.is_empty() {
        let message = fields.values().cloned().collect::<Vec<_>>().join(" ");
        return Err(AppError::Validation {
            message,
            fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        });
    }
    Ok(StoredPolicy {
        expires_at: form.expires_at,
        ip_allowlist: allowlist
            .iter()
            .map(Cidr::to_string)
            .collect::<Vec<_>>()
            .join(","),
        daily_cap: form.daily_cap,
    })
}

/// What is wrong with a new expiry: in the past, or too far ahead. One sent
/// back unchanged (`stored`) is not checked.
fn expiry_error(expires_at: Option<i64>, stored: Option<i64>, now: i64) -> Option<String> {
    let at = expires_at.filter(|at| Some(*at) != stored)?;
    if at <= now {
        Some("The expiry date must be in the future.".to_owned())
    } else if at > now + EXPIRY_MAX_DAYS * super::DAY_MS {
        Some(format!(
            "The expiry date must be at most 2 years ({EXPIRY_MAX_DAYS} days) from now."
        ))
    } else {
        None
    }
}

/// What is wrong with a daily cap: on an API key, or out of range.
fn daily_cap_error(cap: Option<i64>, kind: CredentialKind) -> Option<String> {
    match (cap?, kind) {
        (_, CredentialKind::ApiKey) => {
            Some("A daily cap applies to Sandbox API tokens only.".to_owned())
        }
        (cap, CredentialKind::SandboxToken) if !(1..=ALLOWANCE_MAX).contains(&cap) => Some(
            format!("The daily cap must be 1 to {ALLOWANCE_MAX} submissions, or empty for none."),
        ),
        (_, CredentialKind::SandboxToken) => None,
    }
}

/// The typed allowlist as normalised blocks, duplicates dropped, in the
/// order typed; the error is the form's message.
fn parse_allowlist(typed: &str) -> Result<Vec<Cidr>, String> {
    if typed.len() > ALLOWLIST_MAX_BYTES {
        return Err(format!(
            "The allowlist is too long: at most {ALLOWLIST_MAX_ENTRIES} addresses or CIDR blocks."
        ));
    }
    let entries: Vec<&str> = typed
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .collect();
    if entries.len() > ALLOWLIST_MAX_ENTRIES {
        return Err(format!(
            "At most {ALLOWLIST_MAX_ENTRIES} addresses or CIDR blocks (this list has {}).",
            entries.len()
        ));
    }
    let mut blocks: Vec<Cidr> = Vec::new();
    for (n, entry) in entries.iter().enumerate() {
        if has_hidden_characters(entry) {
            return Err(format!(
                "Entry {} contains control or invisible characters (zero-width, bidi).",
                n + 1
            ));
        }
        let block = Cidr::parse(entry).map_err(|_| {
            let shown: String = entry.chars().take(50).collect();
            format!(
                "Entry {} (“{shown}”) is not an IPv4 or IPv6 address or CIDR block like 203.0.113.0/24 or 2001:db8::/32.",
                n + 1
            )
        })?;
        let block = block.normalised();
        if !blocks.contains(&block) {
            blocks.push(block);
        }
    }
    Ok(blocks)
}

/// Why a credential may not serve this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The client's address is in none of the allowlist's blocks.
    IpNotAllowed,
    /// The expiry has passed.
    Expired,
}

/// Whether a credential with these stored restrictions may serve a request
/// from `client_ip` at `now`. The address is checked first: a caller at an
/// address the allowlist does not name learns nothing else about the
/// credential. An address that does not parse ("unknown") is in no block,
/// and a stored block that does not parse matches nothing: both refuse.
pub fn check(
    expires_at: Option<i64>,
    ip_allowlist: &str,
    client_ip: &str,
    now: i64,
) -> Result<(), Denied> {
    if !ip_allowlist.is_empty() {
        let client: Option<IpAddr> = client_ip.parse().ok();
        let allowed = client.is_some_and(|ip| {
            ip_allowlist
                .split(',')
                .filter_map(|block| Cidr::parse(block).ok())
                .any(|block| block.contains(ip))
        });
        if !allowed {
            return Err(Denied::IpNotAllowed);
        }
    }
    match expires_at {
        Some(at) if at <= now => Err(Denied::Expired),
        _ => Ok(()),
    }
}

/// What the audit log says was set: "expires 2027-01-31 00:00:00 UTC;
/// allowlist 10.0.0.0/8; daily cap 50" (nothing here is secret).
pub fn summary(policy: &StoredPolicy) -> String {
    let mut parts = Vec::new();
    parts.push(match policy.expires_at {
        Some(at) => format!("expires {}", format_timestamp(at)),
        None => "no expiry".to_owned(),
    });
    parts.push(match policy.ip_allowlist.as_str() {
        "" => "any address".to_owned(),
        list => format!("allowlist {}", list.replace(',', ", ")),
    });
    if let Some(cap) = policy.daily_cap {
        parts.push(format!("daily cap {cap}"));
    }
    parts.join("; ")
}

/// The restrictions as a row shows them at `now`.
pub fn view(
    expires_at: Option<i64>,
    ip_allowlist: &str,
    daily_cap: Option<i64>,
    now: i64,
) -> PolicyView {
    if let Some(end) = expires_at.filter(|&end| end > now) {
        super::page_cache::changes_at(end);
    }
    PolicyView {
        expiry: Expiry::of(expires_at, now),
        ip_allowlist: ip_allowlist
            .split(',')
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .collect(),
        daily_cap,
    }
}

#[cfg(test)]
mod tests;
