//! Scalars of the contract that async-graphql does not name the same way.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::error::AppError;

/// A calendar date, `YYYY-MM-DD` (the contract's `Date`). Input is kept as typed and read by
/// [`Date::parse`] in the resolver, so a malformed date is an error that names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Date(String);

impl Date {
    /// The date, or an error naming `field`.
    pub fn parse(&self, field: &str) -> Result<NaiveDate, AppError> {
        NaiveDate::parse_from_str(&self.0, "%Y-%m-%d")
            .map_err(|_| AppError::bad_input(field, "must be a date written YYYY-MM-DD"))
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
