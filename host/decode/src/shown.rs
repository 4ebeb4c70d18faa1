//! A workbook cell's text as the sheet shows it, so that a plugin reads
//! the same text from a workbook as from the CSV the same sheet saves.
//!
//! The rule (also in plugins/README.md):
//! - a number: rounded to 15 significant digits as a spreadsheet keeps it,
//!   then to the decimals its number format fixes (`0.00` → `2.50`, half
//!   away from zero), or in the General look (`2.5`, `12`) when the format
//!   fixes none; a percent format shows it times 100 with `%`. Never with
//!   thousands separators, currency signs or an exponent, so the text
//!   stays a plain decimal;
//! - a date or time: by the date and time parts of its format, in their
//!   order with the separators between them (`yyyy/mm/dd hh:mm` →
//!   `2026/11/03 14:05`, `yyyy"年"m"月"d"日"` → `2026年11月3日`); the
//!   built-in formats whose look depends on the reader's language (the
//!   short date, id 14 and 22) and cells without a format as ISO 8601
//!   (`2026-11-03`, `2026-11-03 14:05:00`);
//! - a boolean: `TRUE` or `FALSE`; text: as it is.

use chrono::{Datelike, NaiveDateTime, Timelike};
use rust_decimal::{Decimal, RoundingStrategy};

/// The significant digits a spreadsheet keeps of a number.
const SIGNIFICANT_DIGITS: usize = 15;

/// The first section of a number format (the one for positive numbers),
/// without colours, locales, quoted text and escapes: what decides how a
/// value looks.
fn first_section(format: &str) -> (String, Vec<Part>) {
    let mut bare = String::new();
    let mut parts = Vec::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' => break,
            '"' => {
                let quoted: String = chars.by_ref().take_while(|&c| c != '"').collect();
                parts.push(Part::Literal(quoted));
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    parts.push(Part::Literal(next.to_string()));
                }
            }
            // `_x` leaves the width of x, `*x` fills with x: no text.
            '_' | '*' => {
                chars.next();
            }
            '[' => {
                let inside: String = chars.by_ref().take_while(|&c| c != ']').collect();
                // `[h]`, `[mm]`, `[ss]`: elapsed time.
                if inside
                    .chars()
                    .all(|c| matches!(c, 'h' | 'H' | 'm' | 'M' | 's' | 'S'))
                {
                    bare.push_str(&inside);
                    parts.push(Part::Code(inside));
                }
            }
            c => {
                bare.push(c);
                match parts.last_mut() {
                    Some(Part::Code(code)) => code.push(c),
                    _ => parts.push(Part::Code(c.to_string())),
                }
            }
        }
    }
    (bare, parts)
}

/// A piece of a format section: its codes, or text shown as it is.
enum Part {
    Code(String),
    Literal(String),
}

/// A number as its format `format` shows it (see the module's rule).
pub(crate) fn number(value: f64, format: Option<&str>) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let (bare, _) = first_section(format.unwrap_or("General"));
    let percent = bare.contains('%');
    // Commas right after the last digit place scale by a thousand each
    // (`0.0,,` shows millions).
    let scaled_by = bare
        .trim_end_matches(|c: char| !matches!(c, '0' | '#' | '?' | ','))
        .chars()
        .rev()
        .take_while(|&c| c == ',')
        .count();
    let shown = if percent { value * 100.0 } else { value } / 1000f64.powi(scaled_by as i32);
    let decimals = fixed_decimals(&bare);
    if shown.abs() >= 1e28 {
        // Beyond exact decimals: the value's own digits, to the 15 kept.
        let kept = format!("{shown:.*e}", SIGNIFICANT_DIGITS - 1);
        let (mantissa, exponent) = kept.split_once('e').unwrap_or((&kept, "0"));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let zeros = (exponent.parse::<usize>().unwrap_or(0) + 1).saturating_sub(digits.len());
        let sign = if shown < 0.0 { "-" } else { "" };
        return format!(
            "{sign}{digits}{}{}",
            "0".repeat(zeros),
            if percent { "%" } else { "" }
        );
    }
    let kept = significant(shown);
    let text = match decimals {
        Some(places) => kept
            .round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
            .to_string(),
        None => general(kept),
    };
    let text = match decimals {
        // Decimal's own text keeps the places it was rounded to only when
        // the value had them: pad.
        Some(places) if places > 0 => pad_places(&text, places as usize),
        _ => text,
    };
    if percent {
        text + "%"
    } else {
        text
    }
}

/// The decimals a number format fixes: the digit places after its point,
/// or `None` for the General look (General, text, exponent forms, or no
/// digit places at all).
fn fixed_decimals(bare: &str) -> Option<u32> {
    let lower = bare.to_ascii_lowercase();
    // General, text, exponent and fraction (`# ?/?`) forms: the General look.
    if lower.is_empty()
        || lower.contains("general")
        || lower.contains('e')
        || lower.contains('/')
        || lower == "@"
    {
        return None;
    }
    if !lower.chars().any(|c| matches!(c, '0' | '#' | '?')) {
        return None;
    }
    let after_point = lower.split_once('.').map_or("", |(_, after)| after);
    let places = after_point
        .chars()
        .take_while(|c| matches!(c, '0' | '#' | '?' | ','))
        .filter(|c| matches!(c, '0' | '#' | '?'))
        .count();
    Some(places.min(15) as u32)
}

/// `value` rounded to the digits a spreadsheet keeps, exactly as decimal.
fn significant(value: f64) -> Decimal {
    let scientific = format!("{value:.*e}", SIGNIFICANT_DIGITS - 1);
    Decimal::from_scientific(&scientific).unwrap_or(Decimal::MAX)
}

/// The General look: no trailing zeros, no point for a whole number.
fn general(value: Decimal) -> String {
    value.normalize().to_string()
}

/// `text` with exactly `places` digits after its point.
fn pad_places(text: &str, places: usize) -> String {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    format!("{whole}.{fraction:0<places$}")
}

/// A date and time as its format `format` shows it, or ISO 8601 without
/// one (see the module's rule).
pub(crate) fn date_time(value: NaiveDateTime, format: Option<&str>) -> String {
    // To the second, rounded: a stored 14:04:59.9996 shows as 14:05:00.
    let value = round_to_second(value);
    let Some((_, parts)) = format
        .map(first_section)
        .filter(|(bare, _)| shows_a_date(bare))
    else {
        return iso(value);
    };
    let mut out = String::new();
    let codes: Vec<(usize, &str)> = parts
        .iter()
        .enumerate()
        .filter_map(|(i, part)| match part {
            Part::Code(code) => Some((i, code.as_str())),
            Part::Literal(_) => None,
        })
        .collect();
    let twelve_hours = codes.iter().any(|(_, code)| {
        let lower = code.to_ascii_lowercase();
        lower.contains("am/pm") || lower.contains("a/p")
    });
    let mut last_was_hour = false;
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Code(code) => {
                let next_is_seconds =
                    codes
                        .iter()
                        .find(|(at, _)| *at > i)
                        .is_some_and(|(_, next)| {
                            next.trim_start_matches(is_separator)
                                .starts_with(['s', 'S'])
                        });
                last_was_hour = write_date_codes(
                    &mut out,
                    code,
                    value,
                    twelve_hours,
                    last_was_hour,
                    next_is_seconds,
                );
            }
        }
    }
    out
}

/// Whether a character between date codes is shown as it is.
fn is_separator(c: char) -> bool {
    !c.is_ascii_alphabetic()
}

/// Whether a format's bare section has date or time codes.
fn shows_a_date(bare: &str) -> bool {
    bare.chars()
        .any(|c| matches!(c.to_ascii_lowercase(), 'y' | 'm' | 'd' | 'h' | 's'))
        && !bare.to_ascii_lowercase().contains("general")
}

/// Writes one run of format characters (`yyyy/mm/dd hh:mm`), codes as the
/// value's parts and everything else as it is; returns whether the last
/// code written was an hour (so that a following `mm` is minutes).
fn write_date_codes(
    out: &mut String,
    run: &str,
    value: NaiveDateTime,
    twelve_hours: bool,
    mut last_was_hour: bool,
    next_run_is_seconds: bool,
) -> bool {
    let chars: Vec<char> = run.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let lower = c.to_ascii_lowercase();
        let rest: String = chars[i..].iter().collect::<String>().to_ascii_lowercase();
        if rest.starts_with("am/pm") {
            out.push_str(if value.hour() < 12 { "AM" } else { "PM" });
            i += 5;
            continue;
        }
        if rest.starts_with("a/p") {
            out.push(if value.hour() < 12 { 'A' } else { 'P' });
            i += 3;
            continue;
        }
        let run_len = chars[i..]
            .iter()
            .take_while(|x| x.to_ascii_lowercase() == lower)
            .count();
        match lower {
            'y' => {
                let year = value.year();
                if run_len <= 2 {
                    out.push_str(&format!("{:02}", year.rem_euclid(100)));
                } else {
                    out.push_str(&format!("{year:04}"));
                }
                last_was_hour = false;
            }
            'm' => {
                // Minutes after an hour or before seconds; months otherwise.
                let seconds_follow = chars[i + run_len..]
                    .iter()
                    .find(|x| !is_separator(**x))
                    .map_or(next_run_is_seconds, |x| x.eq_ignore_ascii_case(&'s'));
                if (last_was_hour || seconds_follow) && run_len <= 2 {
                    push_number(out, value.minute(), run_len);
                } else {
                    push_month(out, value.month(), run_len);
                }
                last_was_hour = false;
            }
            'd' => {
                match run_len {
                    1 | 2 => push_number(out, value.day(), run_len),
                    3 => out
                        .push_str(&WEEKDAYS[value.weekday().num_days_from_monday() as usize][..3]),
                    _ => out.push_str(WEEKDAYS[value.weekday().num_days_from_monday() as usize]),
                }
                last_was_hour = false;
            }
            'h' => {
                let hour = if twelve_hours {
                    match value.hour() % 12 {
                        0 => 12,
                        h => h,
                    }
                } else {
                    value.hour()
                };
                push_number(out, hour, run_len);
                last_was_hour = true;
            }
            's' => {
                push_number(out, value.second(), run_len);
                last_was_hour = false;
            }
            _ => {
                for _ in 0..run_len {
                    out.push(c);
                }
            }
        }
        i += run_len;
    }
    last_was_hour
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `n` with at least two digits for a doubled code (`dd`), as it is for one.
fn push_number(out: &mut String, n: u32, run_len: usize) {
    if run_len >= 2 {
        out.push_str(&format!("{n:02}"));
    } else {
        out.push_str(&n.to_string());
    }
}

/// A month: `m` 3, `mm` 03, `mmm` Mar, `mmmm` March, `mmmmm` M.
fn push_month(out: &mut String, month: u32, run_len: usize) {
    let name = MONTHS[month as usize - 1];
    match run_len {
        1 | 2 => push_number(out, month, run_len),
        3 => out.push_str(&name[..3]),
        4 => out.push_str(name),
        _ => out.push_str(&name[..1]),
    }
}

/// `value` to the nearest second.
fn round_to_second(value: NaiveDateTime) -> NaiveDateTime {
    let rounded = value + chrono::Duration::milliseconds(500);
    rounded.with_nanosecond(0).unwrap_or(rounded)
}

/// ISO 8601: the date alone when the time is midnight.
pub(crate) fn iso(value: NaiveDateTime) -> String {
    let value = round_to_second(value);
    if value.time() == chrono::NaiveTime::MIN {
        value.format("%Y-%m-%d").to_string()
    } else {
        value.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// A date written in ISO 8601 by the file (an .ods date, an .xlsx cell of
/// type `d`) in the look of [`iso`]; other text as it is.
pub(crate) fn iso_text(text: &str) -> String {
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        });
    parsed.map_or_else(|_| text.to_string(), iso)
}

/// An ISO 8601 duration (`PT14H05M00S`, an .ods time) in the look of
/// [`duration`]; other text as it is.
pub(crate) fn duration_text(text: &str) -> String {
    let parse = || -> Option<chrono::Duration> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let rest = rest.strip_prefix("PT")?;
        let mut milliseconds = 0f64;
        let mut number = String::new();
        for c in rest.chars() {
            match c {
                '0'..='9' | '.' => number.push(c),
                'H' | 'M' | 'S' => {
                    let value: f64 = number.parse().ok()?;
                    number.clear();
                    milliseconds += value
                        * match c {
                            'H' => 3_600_000.0,
                            'M' => 60_000.0,
                            _ => 1_000.0,
                        };
                }
                _ => return None,
            }
        }
        number.is_empty().then_some(())?;
        let milliseconds = milliseconds.round() as i64;
        Some(chrono::Duration::milliseconds(if negative {
            -milliseconds
        } else {
            milliseconds
        }))
    };
    parse().map_or_else(|| text.to_string(), duration)
}

/// An elapsed time (`[h]:mm:ss`): whole hours, then minutes and seconds.
pub(crate) fn duration(value: chrono::Duration) -> String {
    let seconds = (value.num_milliseconds() + 500).div_euclid(1000);
    let sign = if seconds < 0 { "-" } else { "" };
    let seconds = seconds.abs();
    format!(
        "{sign}{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn numbers_show_as_their_format_fixes_or_in_the_general_look() {
        assert_eq!(number(2.5, None), "2.5");
        assert_eq!(number(2.5, Some("General")), "2.5");
        assert_eq!(number(12.0, None), "12");
        assert_eq!(number(0.1 + 0.2, None), "0.3", "15 significant digits");
        assert_eq!(number(2.5, Some("0.00")), "2.50");
        assert_eq!(number(1234.5, Some("#,##0.00")), "1234.50", "no separators");
        assert_eq!(
            number(2.675, Some("0.00")),
            "2.68",
            "half away from zero, as shown"
        );
        assert_eq!(number(-2.5, Some("0")), "-3");
        assert_eq!(number(0.655, Some("0.0%")), "65.5%");
        assert_eq!(number(0.65, Some("0%")), "65%");
        assert_eq!(number(12.0, Some("\"¥\"#,##0.00;[Red]-#,##0.00")), "12.00");
        assert_eq!(
            number(1e20, None),
            "100000000000000000000",
            "never an exponent"
        );
        assert_eq!(number(1.5e-7, Some("0.00E+00")), "0.00000015");
        assert_eq!(number(42.0, Some("@")), "42");
        assert_eq!(number(7.0, Some("0\" 件\"")), "7");
        assert_eq!(
            number(1.5, Some("# ?/?")),
            "1.5",
            "a fraction shows in the General look"
        );
        assert_eq!(
            number(2_500_000.0, Some("0.0,,")),
            "2.5",
            "scaled to millions"
        );
        assert_eq!(
            number(1234.0, Some("#,##0")),
            "1234",
            "a grouping comma is no scaling"
        );
        assert_eq!(number(1e30, None), "1000000000000000000000000000000");
        assert_eq!(number(-1.234e29, None), "-123400000000000000000000000000");
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, s)
            .unwrap()
    }

    #[test]
    fn dates_show_by_their_formats_parts_and_separators() {
        let t = at(2026, 11, 3, 14, 5, 9);
        assert_eq!(date_time(t, Some("yyyy/mm/dd hh:mm")), "2026/11/03 14:05");
        assert_eq!(date_time(t, Some("yyyy-mm-dd")), "2026-11-03");
        assert_eq!(
            date_time(t, Some("yyyy\"年\"m\"月\"d\"日\"")),
            "2026年11月3日"
        );
        assert_eq!(date_time(t, Some("yyyy年m月d日")), "2026年11月3日");
        assert_eq!(date_time(t, Some("h:mm:ss")), "14:05:09");
        assert_eq!(
            date_time(t, Some("mm:ss")),
            "05:09",
            "mm before ss is minutes"
        );
        assert_eq!(date_time(t, Some("h:mm AM/PM")), "2:05 PM");
        assert_eq!(date_time(t, Some("d-mmm-yy")), "3-Nov-26");
        assert_eq!(date_time(t, Some("[$-804]yyyy/m/d;@")), "2026/11/3");
        assert_eq!(date_time(t, None), "2026-11-03 14:05:09");
        assert_eq!(date_time(at(2026, 11, 3, 0, 0, 0), None), "2026-11-03");
    }

    #[test]
    fn a_time_stored_a_hair_short_of_the_minute_shows_the_minute() {
        let t = at(2026, 11, 3, 14, 4, 59) + chrono::Duration::milliseconds(999);
        assert_eq!(date_time(t, Some("yyyy/mm/dd hh:mm")), "2026/11/03 14:05");
    }

    #[test]
    fn dates_and_times_a_file_writes_in_iso_8601_show_as_the_others_do() {
        assert_eq!(iso_text("2026-11-03T14:05:00"), "2026-11-03 14:05:00");
        assert_eq!(iso_text("2026-11-03"), "2026-11-03");
        assert_eq!(iso_text("not a date"), "not a date");
        assert_eq!(duration_text("PT14H05M00S"), "14:05:00");
        assert_eq!(duration_text("PT27H00M30.4S"), "27:00:30");
        assert_eq!(duration_text("P1D"), "P1D");
    }

    #[test]
    fn elapsed_times_count_whole_hours() {
        assert_eq!(
            duration(chrono::Duration::seconds(27 * 3600 + 90)),
            "27:01:30"
        );
    }
}
