use chrono::NaiveDate;

use crate::error::AppError;

/// No one alive is older; an earlier date is a typing mistake.
const MAX_AGE: u32 = 120;

/// A date of birth that makes the person at least the service's minimum age and no older than
/// anyone alive. Personal data: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct DateOfBirth(NaiveDate);

impl std::fmt::Debug for DateOfBirth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DateOfBirth([REDACTED])")
    }
}

impl DateOfBirth {
    /// `today` comes from the caller's clock so tests can fix it; `min_age` counts full years,
    /// so someone born on 29 February comes of age on 1 March in years without one.
    pub fn parse(
        date: NaiveDate,
        field: &str,
        today: NaiveDate,
        min_age: u32,
    ) -> Result<Self, AppError> {
        let age = match today.years_since(date) {
            Some(age) if date < today => age,
            _ => return Err(AppError::bad_input(field, "must be in the past")),
        };
        if age < min_age {
            return Err(AppError::bad_input(
                field,
                format!("must give an age of at least {min_age} years"),
            ));
        }
        if age > MAX_AGE {
            return Err(AppError::bad_input(
                field,
                format!("must give an age of at most {MAX_AGE} years"),
            ));
        }
        Ok(Self(date))
    }

    pub fn date(&self) -> NaiveDate {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect(text)
    }

    #[test]
    fn dates_old_enough_are_accepted() {
        for (born, today, min_age) in [
            ("2008-02-29", "2026-03-01", 18),
            ("2008-02-29", "2026-02-28", 17),
            ("2008-02-29", "2028-02-29", 20),
            ("2008-03-01", "2026-03-01", 18),
            ("2000-01-01", "2026-06-15", 18),
            ("2026-06-14", "2026-06-15", 0),
            ("1906-06-15", "2026-06-15", 18),
            ("1905-06-16", "2026-06-15", 18),
        ] {
            let dob =
                DateOfBirth::parse(day(born), "dateOfBirth", day(today), min_age).expect(born);
            assert_eq!(dob.date(), day(born), "{born} on {today}");
        }
    }

    #[test]
    fn invalid_dates_name_the_field() {
        for (born, today, min_age) in [
            ("2008-02-29", "2026-02-28", 18),
            ("2008-03-01", "2026-02-28", 18),
            ("2008-06-16", "2026-06-15", 18),
            ("2026-06-15", "2026-06-15", 0),
            ("2026-06-16", "2026-06-15", 0),
            ("2030-01-01", "2026-06-15", 18),
            ("1905-06-15", "2026-06-15", 18),
            ("1800-01-01", "2026-06-15", 18),
        ] {
            let err =
                DateOfBirth::parse(day(born), "dateOfBirth", day(today), min_age).expect_err(born);
            assert_eq!(err.field(), Some("dateOfBirth"), "{born} on {today}");
        }
    }

    #[test]
    fn debug_hides_the_date() {
        let dob = DateOfBirth::parse(day("1990-05-17"), "dateOfBirth", day("2026-01-01"), 18)
            .expect("valid");
        assert_eq!(format!("{dob:?}"), "DateOfBirth([REDACTED])");
    }
}
