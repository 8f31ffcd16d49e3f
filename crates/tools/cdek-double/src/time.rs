//! CDEK's date formats: `YYYY-MM-DDThh:mm:ss+0000` out; that and RFC 3339 (`+00:00`) in.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// The format CDEK documents for date-times.
const CDEK_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%z";

/// Formats a date-time the way CDEK sends it, e.g. `2026-08-01T14:34:18+0000`.
pub fn format<Tz: chrono::TimeZone>(at: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    at.format(CDEK_FORMAT).to_string()
}

/// Now, in CDEK's format.
pub fn now() -> String {
    format(&Utc::now())
}

/// Parses `2026-08-01T14:34:18+0000`, `2026-08-01T14:34:18+00:00` or `...Z`.
pub fn parse(raw: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_str(raw, CDEK_FORMAT).ok().or_else(|| DateTime::parse_from_rfc3339(raw).ok())
}

/// Parses a calculator `date`: a CDEK date-time, an RFC 3339 one or a bare `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    parse(raw).map(|at| at.date_naive()).or_else(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_a_colonless_offset() {
        let at = DateTime::parse_from_rfc3339("2026-08-01T14:34:18Z").unwrap().with_timezone(&Utc);
        assert_eq!(format(&at), "2026-08-01T14:34:18+0000");
    }

    #[test]
    fn parses_both_offset_styles() {
        assert_eq!(parse("2026-08-01T14:34:18+0000"), parse("2026-08-01T14:34:18+00:00"));
        assert!(parse("2026-08-01T17:34:18+0300").is_some());
        assert!(parse("yesterday").is_none());
        assert_eq!(parse_date("2026-08-01"), NaiveDate::from_ymd_opt(2026, 8, 1));
    }
}
