//! RFC 3339 timestamps: a record's `Validity`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Reads an RFC 3339 timestamp as boxo does (Go's `time.RFC3339Nano` layout):
/// `YYYY-MM-DDTHH:MM:SS[.F…](Z|±HH:MM)` with 1 to 9 fraction digits, `T` and `Z` in upper
/// case, seconds 0 to 59 (Go refuses a leap second). js-ipns writes `…T00:00:00.000000000Z`,
/// boxo trims trailing zeros.
pub(super) fn parse_rfc3339(text: &str) -> Result<SystemTime, &'static str> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
        let part = b.get(range).ok_or("too short")?;
        part.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit()
                .then(|| n * 10 + i64::from(d - b'0'))
                .ok_or("a digit expected")
        })
    };
    let expect = |at: usize, c: u8| match b.get(at) {
        Some(&x) if x == c => Ok(()),
        _ => Err("not YYYY-MM-DDTHH:MM:SS"),
    };
    let year = digits(0..4)?;
    expect(4, b'-')?;
    let month = digits(5..7)?;
    expect(7, b'-')?;
    let day = digits(8..10)?;
    expect(10, b'T')?;
    let hour = digits(11..13)?;
    expect(13, b':')?;
    let minute = digits(14..16)?;
    expect(16, b':')?;
    let second = digits(17..19)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such date");
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("no such time of day");
    }

    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        let start = at + 1;
        let end = start + b[start..].iter().take_while(|d| d.is_ascii_digit()).count();
        if end == start || end - start > 9 {
            return Err("1 to 9 digits of a second expected after '.'");
        }
        let fraction = digits(start..end)?;
        // Scale to nanoseconds: "5" is 500000000.
        nanos = u32::try_from(fraction * 10i64.pow(9 - (end - start) as u32))
            .map_err(|_| "fraction out of range")?;
        at = end;
    }
    let offset = match b.get(at) {
        Some(b'Z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            let hours = digits(at + 1..at + 3)?;
            expect(at + 3, b':')?;
            let minutes = digits(at + 4..at + 6)?;
            if hours > 23 || minutes > 59 {
                return Err("no such time offset");
            }
            let offset = hours * 3600 + minutes * 60;
            if sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return Err("'Z' or a time offset (+HH:MM) expected at the end"),
    };
    let seconds =
        days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    // Years 0000-9999 give about ±2.5e11 seconds: no overflow, and a SystemTime holds them on
    // the usual platforms (checked all the same).
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let time = if seconds >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    time.and_then(|t| t.checked_add(Duration::from_nanos(nanos.into())))
        .ok_or("out of this system's range of times")
}

/// Writes `time` as js-ipns writes a record's `Validity`: UTC, nine digits of a second,
/// `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ`. Times before 1970 or after 9999 are clamped to them.
pub(super) fn format_rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    // 9999-12-31T23:59:59Z.
    let seconds = since.as_secs().min(253_402_300_799) as i64;
    let nanos = if since.as_secs() as i64 == seconds {
        since.subsec_nanos()
    } else {
        0
    };
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // The civil date of a day count (Howard Hinnant's days_from_civil, inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar (negative
/// before), for years 0 to 9999.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    // Leap days of the years before `year`, counting from year 0 (a leap year).
    let leap_days_before = |y: i64| {
        if y <= 0 {
            0
        } else {
            (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400 + 1
        }
    };
    let days_before_year = |y: i64| 365 * y + leap_days_before(y);
    let days_before_month: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
    days_before_year(year) + days_before_month + (day - 1) - days_before_year(1970)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::ipns::fixtures::at;

    #[test]
    fn formatted_times_read_back() {
        for secs in [
            0u64,
            951_782_400,
            1_700_000_000,
            4_102_444_799,
            253_402_300_799,
        ] {
            for nanos in [0u32, 1, 999_999_999] {
                let t = UNIX_EPOCH + Duration::new(secs, nanos);
                let text = format_rfc3339(t);
                assert_eq!(parse_rfc3339(&text), Ok(t), "{text}");
            }
        }
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000000Z"
        );
    }

    #[test]
    fn rfc3339() {
        // Expected seconds from GNU date (`date -u -d TEXT +%s`).
        for (text, seconds, nanos) in [
            ("2126-01-01T00:00:00Z", 4_922_899_200, 0),
            ("2126-01-01T00:00:00.123456789Z", 4_922_899_200, 123_456_789),
            ("2020-01-01T00:00:00.000000000Z", 1_577_836_800, 0),
            ("2020-01-01T00:00:00.5Z", 1_577_836_800, 500_000_000),
            ("1969-12-31T23:59:59Z", -1, 0),
            ("1969-12-31T23:59:59.25Z", -1, 250_000_000),
            ("2024-02-29T12:34:56+02:00", 1_709_202_896, 0),
            ("2024-02-29T08:04:56-02:30", 1_709_202_896, 0),
            ("0001-01-01T00:00:00Z", -62_135_596_800, 0),
            ("9999-12-31T23:59:59Z", 253_402_300_799, 0),
            ("1900-03-01T00:00:00Z", -2_203_891_200, 0),
            ("2000-03-01T00:00:00Z", 951_868_800, 0),
        ] {
            let expected = at(seconds) + Duration::from_nanos(nanos);
            assert_eq!(parse_rfc3339(text), Ok(expected), "{text}");
        }
        for bad in [
            "",
            "2126-01-01",
            "2126-01-01T00:00:00",             // no zone
            "2126-01-01 00:00:00Z",            // space for T
            "2126-01-01t00:00:00z",            // lower case
            "2126-01-01T00:00:00.Z",           // no fraction digits
            "2126-01-01T00:00:00.1234567890Z", // 10 fraction digits
            "2126-01-01T00:00:60Z",            // leap second
            "2126-01-01T24:00:00Z",
            "2023-02-29T00:00:00Z", // not a leap year
            "1900-02-29T00:00:00Z", // not a leap year
            "2126-13-01T00:00:00Z",
            "2126-00-01T00:00:00Z",
            "2126-04-31T00:00:00Z",
            "2126-01-01T00:00:00+0200",
            "2126-01-01T00:00:00+24:00",
            "2126-01-01T00:00:00Zjunk",
            "+126-01-01T00:00:00Z",
            "２126-01-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        // 2000 is a leap year.
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_ok());
    }
}
