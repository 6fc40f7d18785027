//! `[[accept]]`: a reviewed finding that a person accepted until a date,
//! and the calendar date it needs (no clock here: the date of a run is
//! given to the planner).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date, as keys.toml writes one (`2027-03-01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// The date, if it exists (years 1 to 9999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Self {
            year,
            month,
            day,
        })
    }

    /// `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a date; allowed: YYYY-MM-DD, e.g. 2027-03-01");
        let parts: Vec<&str> = text.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return Err(bad());
        }
        let (Ok(year), Ok(month), Ok(day)) = (y.parse(), m.parse(), d.parse()) else {
            return Err(bad());
        };
        Self::new(year, month, day).ok_or_else(bad)
    }

    /// The date `days` days after 1970-01-01 (before it when negative), in
    /// the proleptic Gregorian calendar (H. Hinnant's `civil_from_days`).
    pub fn from_days_since_epoch(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: i32::try_from(year.clamp(1, 9999)).unwrap_or(1),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`), the inverse
    /// of [`Date::from_days_since_epoch`].
    pub fn days_since_epoch(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days later.
    #[must_use]
    pub fn plus_days(self, days: i64) -> Self {
        Self::from_days_since_epoch(self.days_since_epoch() + days)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One `[[accept]]` entry: which findings it accepts (each selector
/// optional, at least one given), why, until when, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptEntry {
    /// The account id (keys.toml may name the account instead).
    pub account: Option<String>,
    /// The region.
    pub region: Option<String>,
    /// The key name.
    pub key: Option<String>,
    /// The resource, as the plan spells it (`key_policy`).
    pub resource: Option<String>,
    /// A glob (`*`, `?`) on what the finding is about: a Sid, a tag key, a
    /// grant id, a principal, a policy name.
    pub subject: Option<String>,
    /// Why it is accepted.
    pub reason: String,
    /// The last day it accepts anything.
    pub expires: Date,
    /// Where it is written: `keys.toml:42`.
    pub at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_print_and_order() {
        let d = Date::parse("2027-03-01");
        assert_eq!(d.map(|d| d.to_string()), Ok("2027-03-01".to_string()));
        for bad in [
            "2027-3-01",
            "2027-02-29",
            "2027-13-01",
            "27-03-01",
            "2027-03-01T00:00",
            "",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse("2028-02-29").is_ok());
        assert!(Date::new(2027, 3, 1) < Date::new(2027, 3, 2));
        assert!(Date::new(2026, 12, 31) < Date::new(2027, 1, 1));
    }

    #[test]
    fn days_since_the_epoch_are_civil_dates() {
        let at = |n| Date::from_days_since_epoch(n).to_string();
        assert_eq!(at(0), "1970-01-01");
        assert_eq!(at(-1), "1969-12-31");
        assert_eq!(at(59), "1970-03-01");
        assert_eq!(at(11_016), "2000-02-29");
        assert_eq!(at(19_782), "2024-02-29");
        assert_eq!(at(20_513), "2026-03-01");
    }
}
