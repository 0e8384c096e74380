//! What every free-text field starts from.

use unicode_normalization::UnicodeNormalization;

use crate::error::AppError;

/// `input` trimmed and in NFC (so one text typed two ways is stored one way), if it has 1 to
/// `max` characters.
pub(super) fn normalised(input: &str, field: &str, max: usize) -> Result<String, AppError> {
    let text: String = input.trim().nfc().collect();
    let count = text.chars().count();
    if count == 0 {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    if count > max {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {max} characters long"),
        ));
    }
    Ok(text)
}
