//! Scalars of the contract that async-graphql does not name the same way.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

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
