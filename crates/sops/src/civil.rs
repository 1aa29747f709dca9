//! Days since 1970-01-01 and proleptic Gregorian dates, both ways (Howard
//! Hinnant's algorithms). SOPS writes `lastmodified` as a UTC date and time, so
//! this crate needs the conversion without a date library; `status` uses the same
//! two functions for its "validate for one week" dates instead of a copy.
//!
//! ```
//! use avalanche_sops::civil::{civil_from_days, days_from_civil};
//! assert_eq!(civil_from_days(0), (1970, 1, 1));
//! assert_eq!(civil_from_days(days_from_civil(2028, 2, 25) + 7), (2028, 3, 3));
//! ```

/// The days from 1970-01-01 to the date `y`-`m`-`d` (`m` 1–12, `d` 1–31; negative
/// before 1970).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1–12, day 1–31) `z` days after 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_leap_years_and_eras() {
        for z in [-800_000, -1, 0, 59, 60, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        }
        assert_eq!(
            civil_from_days(days_from_civil(2000, 2, 28) + 1),
            (2000, 2, 29)
        );
        assert_eq!(
            civil_from_days(days_from_civil(1900, 2, 28) + 1),
            (1900, 3, 1)
        );
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
