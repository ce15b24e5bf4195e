//! Timestamps cross the wire as epoch milliseconds (`i64`); this formats them
//! the same way on the server and in the browser, so hydration matches.

use time::OffsetDateTime;
use time::macros::format_description;

/// `2026-11-22 06:04:53 UTC`, or an empty string for an impossible value.
pub fn format_timestamp(epoch_ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_timestamp(1_795_330_000_123),
            "2026-11-22 06:46:40 UTC"
        );
    }
}
