//! Scalars of the contract that async-graphql does not name the same way.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::error::AppError;

/// A calendar date, `YYYY-MM-DD` (the contract's `Date`). Input is kept as typed and read by
/// [`Date::parse`] in the resolver, so a malformed date is an error that names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Date(String);

impl Date {
    /// The date, or an error naming `field` that says what is wrong: the shape, or a day the
    /// calendar does not have (`1990-02-30`).
    pub fn parse(&self, field: &str) -> Result<NaiveDate, AppError> {
        let text = self.0.trim();
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(at, byte)| {
                if at == 4 || at == 7 {
                    byte == b'-'
                } else {
                    byte.is_ascii_digit()
                }
            });
        if !shaped {
            return Err(AppError::bad_input(
                field,
                "must be a date written YYYY-MM-DD, like 1990-04-01",
            ));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
            let (year, month) = (number(0..4), number(5..7));
            let days = NaiveDate::from_ymd_opt(i32::try_from(year).unwrap_or(0), month, 1)
                .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
                .and_then(|next| next.pred_opt())
                .map(|last| last.format("%d").to_string());
            let reason = match days {
                Some(days) => format!("is not a calendar date: {year}-{month:02} has {days} days"),
                None => "is not a calendar date: the month must be 01 to 12".to_owned(),
            };
            AppError::bad_input(field, reason)
        })
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Self(date.format("%Y-%m-%d").to_string())
    }
}

/// A calendar date, `YYYY-MM-DD` (ISO 8601), such as `1990-04-01`. A malformed one is
/// `BAD_USER_INPUT` naming its field.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Date(text)),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// REST bodies read it as a string too; what it holds is checked by [`Date::parse`].
impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// REST answers write it the same way.
impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// An instant, as RFC 3339 text. Answers are in UTC and end in `Z`
/// (`2026-11-01T09:30:00.123456Z`), as REST answers and exports write them; inputs may carry
/// any offset (`2026-11-01T00:00:00+01:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    fn text(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(instant: DateTime<Utc>) -> Self {
        Self(instant)
    }
}

/// An instant, as RFC 3339 text. Answers are in UTC and end in `Z`
/// (`2026-11-01T09:30:00.123456Z`); inputs may carry any offset (`2026-11-01T00:00:00+01:00`).
#[Scalar(name = "DateTime")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => DateTime::parse_from_rfc3339(text)
                .map(|instant| Self(instant.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(
                        "must be an RFC 3339 instant, like 2026-11-01T09:30:00Z",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.text())
    }
}

/// REST answers write it the same way.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_says_what_is_wrong_with_it() {
        let message = |text: &str| {
            Date(text.to_owned())
                .parse("dateOfBirth")
                .expect_err(text)
                .to_string()
        };
        assert_eq!(
            message("1990-02-30"),
            "is not a calendar date: 1990-02 has 28 days"
        );
        assert_eq!(
            message("1992-02-30"),
            "is not a calendar date: 1992-02 has 29 days"
        );
        assert_eq!(
            message("1990-13-01"),
            "is not a calendar date: the month must be 01 to 12"
        );
        assert!(message("01/02/1990").contains("YYYY-MM-DD"));
        assert_eq!(
            Date("1990-04-01".into())
                .parse("dateOfBirth")
                .expect("valid"),
            NaiveDate::from_ymd_opt(1990, 4, 1).expect("valid")
        );
    }
}
