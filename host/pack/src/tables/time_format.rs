//! The `time-format` kind: times and dates in the standard's format, RFC
//! 3339 with seconds and the pack's fixed offset. Local times without a
//! zone are read in that offset. Its refusals (`invalid-time`,
//! `invalid-format`) carry the parser's own explanation, so they keep the
//! host's wording.

use std::path::Path;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeDelta};
use conform_model::pack::TimeTable;

use crate::service_error::ServiceError;
use crate::PackError;

/// The code of a time or date that does not parse or does not exist.
const INVALID_TIME: &str = "invalid-time";
/// The code of a pattern that is not a strftime pattern.
const INVALID_FORMAT: &str = "invalid-format";

const OUTPUT: &str = "%Y-%m-%dT%H:%M:%S%:z";

/// A checked time format.
#[derive(Debug, Clone)]
pub struct TimeFormat {
    offset: FixedOffset,
}

impl TimeFormat {
    /// Checks a time-format file: its offset must look like `+08:00`.
    pub fn from_table(path: &Path, table: TimeTable) -> Result<TimeFormat, PackError> {
        let offset: FixedOffset = table.offset.parse().map_err(|_| {
            PackError::table(
                path,
                "offset",
                format!("offset `{}` must look like `+08:00`", table.offset),
            )
        })?;
        Ok(TimeFormat { offset })
    }

    fn format(&self, time: DateTime<FixedOffset>) -> String {
        time.with_timezone(&self.offset).format(OUTPUT).to_string()
    }

    /// `text` read with a strftime `format` (or `unix-ms`, `unix-s`), in
    /// the standard's format; a time without a zone is local.
    pub fn parse_time(&self, text: &str, format: &str) -> Result<String, ServiceError> {
        let text = text.trim();
        too_long(text)?;
        let invalid = |why: String| ServiceError::new(INVALID_TIME, why);
        let epoch = |scale: i64| -> Result<String, ServiceError> {
            let n: i64 = text
                .parse()
                .map_err(|_| invalid(format!("`{text}` is not a whole number of epoch units")))?;
            let millis = n
                .checked_mul(scale)
                .ok_or_else(|| invalid(format!("`{text}` is out of range")))?;
            let utc = DateTime::from_timestamp_millis(millis)
                .ok_or_else(|| invalid(format!("`{text}` is out of range")))?;
            Ok(self.format(utc.fixed_offset()))
        };
        match format {
            "unix-ms" => return epoch(1),
            "unix-s" => return epoch(1000),
            _ => {}
        }
        check_format(format)?;
        if format.contains("%z") || format.contains("%:z") || format.contains("%#z") {
            let time = DateTime::parse_from_str(text, format).map_err(|e| {
                invalid(format!("`{text}` is not a time of format `{format}` ({e}): check that the day and time exist"))
            })?;
            return Ok(self.format(time));
        }
        let naive = NaiveDateTime::parse_from_str(text, format)
            .map_err(|e| invalid(format!("`{text}` is not a time of format `{format}` ({e}): check that the day and time exist")))?;
        let local = naive
            .and_local_timezone(self.offset)
            .single()
            .ok_or_else(|| invalid(format!("`{text}` is not a valid local time")))?;
        Ok(self.format(local))
    }

    /// `text` read with a strftime `format`, as `YYYY-MM-DD`.
    pub fn parse_date(&self, text: &str, format: &str) -> Result<String, ServiceError> {
        let text = text.trim();
        too_long(text)?;
        check_format(format)?;
        let date = NaiveDate::parse_from_str(text, format).map_err(|e| {
            ServiceError::new(
                INVALID_TIME,
                format!(
                    "`{text}` is not a date of format `{format}` ({e}): check that the day exists"
                ),
            )
        })?;
        Ok(date.format("%Y-%m-%d").to_string())
    }

    /// `time` (RFC 3339) plus `hours`, in the standard's format.
    pub fn add_hours(&self, time: &str, hours: u32) -> Result<String, ServiceError> {
        too_long(time.trim())?;
        let parsed = DateTime::parse_from_rfc3339(time.trim()).map_err(|e| {
            ServiceError::new(
                INVALID_TIME,
                format!("`{time}` is not an RFC 3339 time: {e}"),
            )
        })?;
        let later = parsed
            .checked_add_signed(TimeDelta::hours(i64::from(hours)))
            .ok_or_else(|| {
                ServiceError::new(
                    INVALID_TIME,
                    format!("`{time}` + {hours} h is out of range"),
                )
            })?;
        Ok(self.format(later))
    }
}

/// Refuses a text longer than any time or date is written.
fn too_long(text: &str) -> Result<(), ServiceError> {
    if text.len() > MAX_PATTERN_BYTES {
        return Err(ServiceError::new(
            INVALID_TIME,
            format!(
                "`{}` is longer than any time or date ({MAX_PATTERN_BYTES} bytes)",
                conform_model::truncate(text, 64)
            ),
        ));
    }
    Ok(())
}

impl TimeFormat {
    /// Checks a pattern once: `unix-ms`, `unix-s` or a strftime pattern.
    pub fn check_pattern(&self, pattern: &str) -> Result<(), ServiceError> {
        match pattern {
            "unix-ms" | "unix-s" => Ok(()),
            _ => check_format(pattern),
        }
    }
}

/// The longest pattern, and the longest text, a time may be read from.
const MAX_PATTERN_BYTES: usize = 256;

fn check_format(format: &str) -> Result<(), ServiceError> {
    if format.len() > MAX_PATTERN_BYTES {
        return Err(ServiceError::new(
            INVALID_FORMAT,
            format!(
                "`{}` is longer than a time pattern may be ({MAX_PATTERN_BYTES} bytes)",
                conform_model::truncate(format, 64)
            ),
        ));
    }
    if format.is_empty() || StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(ServiceError::new(
            INVALID_FORMAT,
            format!("`{format}` is not a strftime pattern"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> TimeFormat {
        TimeFormat::from_table(
            Path::new("time.toml"),
            TimeTable {
                offset: "+08:00".into(),
                zone_name: String::new(),
            },
        )
        .unwrap()
    }

    #[test]
    fn local_times_are_china_standard_time() {
        assert_eq!(
            rules()
                .parse_time("2026/11/03 14:05", "%Y/%m/%d %H:%M")
                .unwrap(),
            "2026-11-03T14:05:00+08:00"
        );
    }

    #[test]
    fn epoch_millis_are_utc() {
        // 2026-11-03T17:20:00Z is 2026-11-04T01:20:00+08:00: the date moves.
        assert_eq!(
            rules().parse_time("1793726400000", "unix-ms").unwrap(),
            "2026-11-04T01:20:00+08:00"
        );
    }

    #[test]
    fn zoned_times_are_moved_to_the_offset() {
        let t = rules()
            .parse_time("2026-11-03T00:00:00+00:00", "%Y-%m-%dT%H:%M:%S%:z")
            .unwrap();
        assert_eq!(t, "2026-11-03T08:00:00+08:00");
    }

    #[test]
    fn patterns_and_texts_of_unbounded_size_are_refused() {
        let r = rules();
        let pattern = "%Y".repeat(200);
        assert_eq!(r.check_pattern(&pattern).unwrap_err().code, INVALID_FORMAT);
        let err = r.parse_time("2026", &pattern).unwrap_err();
        assert!(err.message.len() < 200, "{}", err.message);
        assert_eq!(
            r.parse_date(&"1".repeat(10_000), "%Y-%m-%d")
                .unwrap_err()
                .code,
            INVALID_TIME
        );
    }

    #[test]
    fn impossible_days_are_errors() {
        let r = rules();
        assert_eq!(
            r.parse_time("2026/11/31 10:00", "%Y/%m/%d %H:%M")
                .unwrap_err()
                .code,
            INVALID_TIME
        );
        assert_eq!(
            r.parse_date("2026年13月1日", "%Y年%m月%d日")
                .unwrap_err()
                .code,
            INVALID_TIME
        );
        assert_eq!(
            r.parse_date("13/07/2026", "%m/%d/%Y").unwrap_err().code,
            INVALID_TIME
        );
        assert_eq!(r.parse_date("x", "%Q").unwrap_err().code, INVALID_FORMAT);
    }

    #[test]
    fn chinese_dates_and_us_dates() {
        let r = rules();
        assert_eq!(
            r.parse_date("2026年10月8日", "%Y年%m月%d日").unwrap(),
            "2026-10-08"
        );
        assert_eq!(
            r.parse_date("10/05/2026", "%m/%d/%Y").unwrap(),
            "2026-10-05"
        );
    }

    #[test]
    fn hours_are_added() {
        assert_eq!(
            rules().add_hours("2026-11-03T23:30:00+08:00", 48).unwrap(),
            "2026-11-05T23:30:00+08:00"
        );
    }
}
