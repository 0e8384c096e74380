//! Where settings come from, and the names they go by there: a key in `custodian.toml`
//! (`listen`) or a variable (`CUSTODIAN_LISTEN`). A misspelt key stops the start, a misspelt
//! variable is warned about, both with the closest known name; a value that cannot be read is
//! named once, as the operator wrote it.

use figment::{Figment, error::Kind, providers::Env};
use serde::{
    Deserialize,
    de::{self, Visitor},
};

use super::{ConfigError, raw::RawSettings};

/// The variable that names the settings file; not a setting itself.
const CONFIG_VARIABLE: &str = "CUSTODIAN_CONFIG";

/// The name of every setting, as a key of the settings file, read off `RawSettings` itself so
/// the list cannot drift from it.
pub(super) fn known_keys() -> &'static [&'static str] {
    /// Answers the field names serde asks a struct for, and nothing else.
    struct FieldNames;

    #[derive(Debug)]
    struct Names(&'static [&'static str]);

    impl std::fmt::Display for Names {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "field names")
        }
    }

    impl std::error::Error for Names {}

    impl de::Error for Names {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Self(&[])
        }
    }

    impl<'de> de::Deserializer<'de> for FieldNames {
        type Error = Names;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Names> {
            Err(Names(&[]))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Names> {
            Err(Names(fields))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    match RawSettings::deserialize(FieldNames) {
        Err(Names(fields)) => fields,
        Ok(_) => &[],
    }
}

/// The known key closest to `key`, when one is close enough to be what was meant.
fn closest(key: &str) -> Option<&'static str> {
    let key = key
        .to_ascii_lowercase()
        .trim_start_matches("custodian_")
        .to_owned();
    known_keys()
        .iter()
        .map(|known| (strsim::levenshtein(&key, known), *known))
        .filter(|(distance, known)| *distance <= (known.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

fn suggestion(key: &str, as_variable: bool) -> String {
    match closest(key) {
        Some(known) if as_variable => {
            format!(" (did you mean CUSTODIAN_{}?)", known.to_ascii_uppercase())
        }
        Some(known) => format!(" (did you mean `{known}`?)"),
        None => String::new(),
    }
}

/// The keys of the settings file that are not settings: each stops the start.
pub(super) fn unknown_file_keys(file: &Figment, path: &str) -> Result<(), ConfigError> {
    let keys: Vec<String> = file
        .extract::<figment::value::Dict>()
        .map_err(|err| read_error(&err))?
        .into_keys()
        .filter(|key| !known_keys().contains(&key.as_str()))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = keys
        .iter()
        .map(|key| format!("`{key}`{}", suggestion(key, false)))
        .collect();
    Err(ConfigError::Unknown(format!(
        "{path} sets {}, which {} no setting",
        named.join(", "),
        if keys.len() == 1 { "is" } else { "are" }
    )))
}

/// The `CUSTODIAN_*` variables of this process that are not settings, each with a warning.
pub(super) fn unknown_variables() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with("CUSTODIAN_") && name != CONFIG_VARIABLE)
        .filter(|name| {
            let key = name.trim_start_matches("CUSTODIAN_").to_ascii_lowercase();
            !known_keys().contains(&key.as_str())
        })
        .map(|name| {
            format!(
                "{name} is not a setting and is ignored{}",
                suggestion(&name, true)
            )
        })
        .collect()
}

/// The variables this process reads settings from.
pub(super) fn variables() -> Env {
    Env::prefixed("CUSTODIAN_").ignore(&["CONFIG"])
}

/// `err` naming the setting as the operator wrote it: checks name `CUSTODIAN_LISTEN`, which is
/// right for a variable; a value from the settings file is named by its key there.
pub(super) fn as_written(err: ConfigError, merged: &Figment, path: &str) -> ConfigError {
    let ConfigError::Invalid { name, reason } = err else {
        return err;
    };
    let key = name.trim_start_matches("CUSTODIAN_").to_ascii_lowercase();
    let from_file = merged
        .find_metadata(&key)
        .is_some_and(|metadata| !metadata.name.contains("environment"));
    if from_file {
        ConfigError::Value {
            name: format!("`{key}` in {path}"),
            reason,
        }
    } else {
        ConfigError::Invalid { name, reason }
    }
}

/// A value that cannot be read, named once, as the operator wrote its key.
pub(super) fn read_error(err: &figment::Error) -> ConfigError {
    let error = err
        .clone()
        .into_iter()
        .next()
        .unwrap_or_else(|| err.clone());
    let key = error.path.join(".");
    let from_variable = error
        .metadata
        .as_ref()
        .is_some_and(|metadata| metadata.name.contains("environment"));
    let name = if key.is_empty() {
        "the settings".to_owned()
    } else if from_variable {
        format!("CUSTODIAN_{}", key.to_ascii_uppercase())
    } else {
        format!("`{key}` in the settings file")
    };
    let reason = match &error.kind {
        Kind::InvalidType(actual, expected) => format!("{actual} is not {expected}"),
        Kind::InvalidValue(actual, expected) => format!("{actual} is not {expected}"),
        Kind::UnknownVariant(actual, expected) => {
            format!("`{actual}` is not one of {}", expected.join(", "))
        }
        other => other.to_string(),
    };
    ConfigError::Value { name, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_known_by_name() {
        let keys = known_keys();
        assert!(
            keys.contains(&"listen") && keys.contains(&"database_url"),
            "{keys:?}"
        );
        assert!(keys.len() > 30, "{keys:?}");
    }

    #[test]
    fn a_misspelling_is_matched_to_what_was_meant() {
        assert_eq!(closest("listn"), Some("listen"));
        assert_eq!(closest("LISTEN"), Some("listen"));
        assert_eq!(closest("CUSTODIAN_LISTEN"), Some("listen"));
        assert_eq!(closest("databse_url"), Some("database_url"));
        assert_eq!(closest("something_else_entirely"), None);
    }
}
