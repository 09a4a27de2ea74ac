//! Date literals (`THIS_QUARTER`, `LAST_N_DAYS:7`, `N_FISCAL_YEARS_AGO:2`…) as UTC ranges,
//! and the date functions (`CALENDAR_MONTH(CreatedDate)`…). The fiscal year is the
//! default one, starting in January, so fiscal literals equal the calendar ones.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use serde_json::{Value, json};

use super::parse::DateFn;

fn day(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The first day of month `m` (1-based, any integer) of year `y`, normalised.
fn month_start(y: i32, m: i64) -> Option<NaiveDate> {
    let total = i64::from(y) * 12 + (m - 1);
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m as u32, 1)
}

/// [start, end) of a date literal, in UTC.
pub fn keyword_range(
    kw: &str,
    n: Option<i64>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let today = now.date_naive();
    let n = n.unwrap_or(0).clamp(-100_000, 100_000);
    let week = day(today - Duration::days(today.weekday().num_days_from_sunday() as i64));
    let (y, m) = (today.year(), i64::from(today.month()));
    let months = |from: i64, to: i64| Some((day(month_start(y, from)?), day(month_start(y, to)?)));
    // The first month of this quarter.
    let q = m - (m - 1) % 3;
    let years = |from: i32, to: i32| {
        Some((
            day(NaiveDate::from_ymd_opt(y.checked_add(from)?, 1, 1)?),
            day(NaiveDate::from_ymd_opt(y.checked_add(to)?, 1, 1)?),
        ))
    };
    let ny = i32::try_from(n).ok()?;
    let t = day(today);
    let d = Duration::days;
    let kw = kw.replace("_FISCAL", "");
    match kw.as_str() {
        "TODAY" => Some((t, t + d(1))),
        "YESTERDAY" => Some((t - d(1), t)),
        "TOMORROW" => Some((t + d(1), t + d(2))),
        "THIS_WEEK" => Some((week, week + d(7))),
        "LAST_WEEK" => Some((week - d(7), week)),
        "NEXT_WEEK" => Some((week + d(7), week + d(14))),
        "THIS_MONTH" => months(m, m + 1),
        "LAST_MONTH" => months(m - 1, m),
        "NEXT_MONTH" => months(m + 1, m + 2),
        "THIS_QUARTER" => months(q, q + 3),
        "LAST_QUARTER" => months(q - 3, q),
        "NEXT_QUARTER" => months(q + 3, q + 6),
        "THIS_YEAR" => years(0, 1),
        "LAST_YEAR" => years(-1, 0),
        "NEXT_YEAR" => years(1, 2),
        "LAST_90_DAYS" => Some((t - d(90), t + d(1))),
        "NEXT_90_DAYS" => Some((t + d(1), t + d(91))),
        "LAST_N_DAYS" => Some((t - d(n), t + d(1))),
        "NEXT_N_DAYS" => Some((t + d(1), t + d(1 + n))),
        "N_DAYS_AGO" => Some((t - d(n), t - d(n) + d(1))),
        "LAST_N_WEEKS" => Some((week - d(7 * n), week)),
        "NEXT_N_WEEKS" => Some((week + d(7), week + d(7 + 7 * n))),
        "N_WEEKS_AGO" => Some((week - d(7 * n), week - d(7 * n) + d(7))),
        "LAST_N_MONTHS" => months(m - n, m),
        "NEXT_N_MONTHS" => months(m + 1, m + 1 + n),
        "N_MONTHS_AGO" => months(m - n, m - n + 1),
        "LAST_N_QUARTERS" => months(q - 3 * n, q),
        "NEXT_N_QUARTERS" => months(q + 3, q + 3 + 3 * n),
        "N_QUARTERS_AGO" => months(q - 3 * n, q - 3 * n + 3),
        "LAST_N_YEARS" => years(-ny, 0),
        "NEXT_N_YEARS" => years(1, 1 + ny),
        "N_YEARS_AGO" => years(-ny, 1 - ny),
        _ => None,
    }
}

/// A date function of a stored date or datetime (UTC); None when the value is not one.
pub fn apply(func: DateFn, stored: &Value) -> Option<Value> {
    let s = stored.as_str()?;
    let at = crate::sim::clock::parse_datetime(s)
        .or_else(|| crate::sim::clock::parse_date(s).map(day))?;
    let date = at.date_naive();
    let quarter = (date.month() - 1) / 3 + 1;
    Some(match func {
        DateFn::CalendarMonth | DateFn::FiscalMonth => json!(date.month()),
        DateFn::CalendarQuarter | DateFn::FiscalQuarter => json!(quarter),
        DateFn::CalendarYear | DateFn::FiscalYear => json!(date.year()),
        DateFn::DayInMonth => json!(date.day()),
        // 1 is Sunday.
        DateFn::DayInWeek => json!(date.weekday().num_days_from_sunday() + 1),
        DateFn::DayInYear => json!(date.ordinal()),
        DateFn::DayOnly => json!(date.format("%Y-%m-%d").to_string()),
        DateFn::HourInDay => json!(at.hour()),
        DateFn::WeekInMonth => json!((date.day() - 1) / 7 + 1),
        DateFn::WeekInYear => json!((date.ordinal() - 1) / 7 + 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::clock::parse_datetime;

    fn range(kw: &str, n: Option<i64>, now: &str) -> (String, String) {
        let (s, e) = keyword_range(kw, n, parse_datetime(now).unwrap()).unwrap();
        (s.date_naive().to_string(), e.date_naive().to_string())
    }

    #[test]
    fn date_literals_cover_the_documented_days() {
        let now = "2026-03-15T12:00:00Z";
        assert_eq!(
            range("THIS_MONTH", None, now),
            ("2026-03-01".into(), "2026-04-01".into())
        );
        assert_eq!(
            range("LAST_N_DAYS", Some(7), now),
            ("2026-03-08".into(), "2026-03-16".into())
        );
        assert_eq!(
            range("LAST_MONTH", None, "2026-01-10T00:00:00Z"),
            ("2025-12-01".into(), "2026-01-01".into())
        );
        assert_eq!(
            range("THIS_QUARTER", None, now),
            ("2026-01-01".into(), "2026-04-01".into())
        );
        assert_eq!(
            range("LAST_QUARTER", None, now),
            ("2025-10-01".into(), "2026-01-01".into())
        );
        assert_eq!(
            range("NEXT_FISCAL_QUARTER", None, now),
            ("2026-04-01".into(), "2026-07-01".into())
        );
        // The current quarter is not in the last n quarters.
        assert_eq!(
            range("LAST_N_QUARTERS", Some(2), now),
            ("2025-07-01".into(), "2026-01-01".into())
        );
        assert_eq!(
            range("NEXT_N_QUARTERS", Some(1), now),
            ("2026-04-01".into(), "2026-07-01".into())
        );
        assert_eq!(
            range("NEXT_FISCAL_YEAR", None, now),
            ("2027-01-01".into(), "2028-01-01".into())
        );
        assert_eq!(
            range("LAST_N_FISCAL_YEARS", Some(2), now),
            ("2024-01-01".into(), "2026-01-01".into())
        );
        assert_eq!(
            range("N_DAYS_AGO", Some(3), now),
            ("2026-03-12".into(), "2026-03-13".into())
        );
        assert_eq!(
            range("N_MONTHS_AGO", Some(14), now),
            ("2025-01-01".into(), "2025-02-01".into())
        );
        assert_eq!(
            range("N_YEARS_AGO", Some(1), now),
            ("2025-01-01".into(), "2026-01-01".into())
        );
        for kw in super::super::parse::DATE_KEYWORDS {
            assert!(
                keyword_range(kw, None, parse_datetime(now).unwrap()).is_some(),
                "{kw}"
            );
        }
        for kw in super::super::parse::DATE_KEYWORDS_N {
            assert!(
                keyword_range(kw, Some(2), parse_datetime(now).unwrap()).is_some(),
                "{kw}"
            );
        }
    }

    #[test]
    fn date_functions_read_dates_and_datetimes() {
        let v = json!("2024-05-19T22:10:00.000+0000");
        assert_eq!(apply(DateFn::CalendarMonth, &v), Some(json!(5)));
        assert_eq!(apply(DateFn::CalendarQuarter, &v), Some(json!(2)));
        assert_eq!(apply(DateFn::DayOnly, &v), Some(json!("2024-05-19")));
        assert_eq!(apply(DateFn::DayInWeek, &v), Some(json!(1)), "a Sunday");
        assert_eq!(apply(DateFn::HourInDay, &v), Some(json!(22)));
        assert_eq!(
            apply(DateFn::CalendarYear, &json!("2023-12-31")),
            Some(json!(2023))
        );
        assert_eq!(apply(DateFn::CalendarYear, &Value::Null), None);
    }
}
