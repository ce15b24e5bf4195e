//! Timestamps cross the wire as epoch milliseconds (`i64`); this formats them
//! the same way on the server and in the browser, so hydration matches.

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

fn at(epoch_ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000).ok()
}

/// `2026-11-22 06:04:53 UTC`, or an empty string for an impossible value.
pub fn format_timestamp(epoch_ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at(epoch_ms)
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `2026-11-22T06:04:53Z`: the machine-readable form, for `<time datetime>`.
pub fn format_iso(epoch_ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at(epoch_ms)
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// The moment in a time zone `offset_minutes` east of UTC (what the browser
/// says for that moment, so daylight saving is already applied):
/// `2026-11-22 15:04:53 UTC+09:00`, and as [`format_timestamp`] at UTC.
pub fn format_local(epoch_ms: i64, offset_minutes: i32) -> String {
    let Some(offset) = offset_minutes
        .checked_mul(60)
        .and_then(|s| UtcOffset::from_whole_seconds(s).ok())
        .filter(|o| !o.is_utc())
    else {
        return format_timestamp(epoch_ms);
    };
    let format = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] UTC[offset_hour sign:mandatory]:[offset_minute]"
    );
    at(epoch_ms)
        .map(|t| t.to_offset(offset))
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
        assert_eq!(format_iso(1_795_330_000_123), "2026-11-22T06:46:40Z");
    }

    #[test]
    fn formats_in_the_viewers_zone() {
        // Tokyo, New York in winter, India's half hour, and UTC itself.
        assert_eq!(
            format_local(1_795_330_000_123, 9 * 60),
            "2026-11-22 15:46:40 UTC+09:00"
        );
        assert_eq!(
            format_local(1_795_330_000_123, -5 * 60),
            "2026-11-22 01:46:40 UTC-05:00"
        );
        assert_eq!(
            format_local(1_795_330_000_123, 5 * 60 + 30),
            "2026-11-22 12:16:40 UTC+05:30"
        );
        assert_eq!(
            format_local(1_795_330_000_123, 0),
            "2026-11-22 06:46:40 UTC"
        );
        // An offset no zone has falls back to UTC rather than lying.
        assert_eq!(
            format_local(1_795_330_000_123, 100 * 60),
            "2026-11-22 06:46:40 UTC"
        );
    }
}
