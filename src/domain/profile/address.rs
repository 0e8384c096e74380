use unicode_normalization::char::is_combining_mark;

use crate::{domain::text::normalised, error::AppError};

const LINE_MAX_CHARS: usize = 200;
const CITY_MAX_CHARS: usize = 100;

/// One line of a street address: trimmed, NFC, 1–200 characters. Anything printable passes,
/// since house numbers, units and punctuation vary by country; control characters and line
/// breaks do not, as each line is printed on its own line of a label. Personal data: `Debug`
/// hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct AddressLine(String);

/// A city or town: trimmed, NFC, 1–100 characters of letters, combining marks, spaces,
/// apostrophes, hyphens, periods and parentheses, so names from every script pass and markup
/// does not. Personal data: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct City(String);

impl std::fmt::Debug for AddressLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressLine([REDACTED])")
    }
}

impl std::fmt::Debug for City {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("City([REDACTED])")
    }
}

impl AddressLine {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let line = normalised(input, field, LINE_MAX_CHARS)?;
        // U+2028 and U+2029 are line breaks without being control characters.
        if line
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        {
            return Err(AppError::bad_input(
                field,
                "must be a single line without control characters",
            ));
        }
        Ok(Self(line))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl City {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let city = normalised(input, field, CITY_MAX_CHARS)?;
        let allowed = |c: char| {
            c.is_alphabetic()
                || is_combining_mark(c)
                || matches!(c, ' ' | '\'' | '’' | '-' | '.' | '(' | ')')
        };
        if !city.chars().all(allowed) {
            return Err(AppError::bad_input(
                field,
                "may contain only letters, spaces, apostrophes, hyphens, periods and parentheses",
            ));
        }
        if !city.chars().any(char::is_alphabetic) {
            return Err(AppError::bad_input(field, "must contain a letter"));
        }
        Ok(Self(city))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_lines_are_trimmed_and_nfc() {
        let longest = "a".repeat(LINE_MAX_CHARS);
        let decomposed = format!("{}e\u{0301}", "a".repeat(LINE_MAX_CHARS - 1));
        let composed = format!("{}é", "a".repeat(LINE_MAX_CHARS - 1));
        for (input, expected) in [
            ("1 Infinite Loop", "1 Infinite Loop"),
            ("  221B Baker Street ", "221B Baker Street"),
            ("Apt. #4, 3rd floor", "Apt. #4, 3rd floor"),
            ("Rue de l’Église 12", "Rue de l’Église 12"),
            ("Rue de l'E\u{0301}glise 12", "Rue de l'Église 12"),
            ("Straße des 17. Juni 135", "Straße des 17. Juni 135"),
            ("ul. Piotrkowska 104/3", "ul. Piotrkowska 104/3"),
            ("千代田区千代田1-1", "千代田区千代田1-1"),
            (
                "Av. Paulista, 1578 – Bela Vista",
                "Av. Paulista, 1578 – Bela Vista",
            ),
            ("c/o Ada Lovelace", "c/o Ada Lovelace"),
            ("1 Infinite Loop\r\n", "1 Infinite Loop"),
            ("7", "7"),
            (longest.as_str(), longest.as_str()),
            (decomposed.as_str(), composed.as_str()),
        ] {
            let line = AddressLine::parse(input, "addressLine1").expect(input);
            assert_eq!(line.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_lines_name_the_field() {
        let too_long = "a".repeat(LINE_MAX_CHARS + 1);
        for input in [
            "",
            "   ",
            "\n\t",
            "1 Infinite Loop\nCupertino",
            "1 Infinite\rLoop",
            "1 Infinite\tLoop",
            "1 Infinite\u{0000}Loop",
            "1 Infinite\u{007F}Loop",
            "1 Infinite\u{0085}Loop",
            "1 Infinite\u{2028}Loop",
            "1 Infinite\u{2029}Loop",
            too_long.as_str(),
        ] {
            let err = AddressLine::parse(input, "addressLine1").expect_err(input);
            assert_eq!(err.field(), Some("addressLine1"), "{input:?}");
        }
    }

    #[test]
    fn valid_cities_are_trimmed_and_nfc() {
        let longest = "a".repeat(CITY_MAX_CHARS);
        for (input, expected) in [
            ("Zürich", "Zürich"),
            ("Zu\u{0308}rich", "Zürich"),
            (" São Paulo ", "São Paulo"),
            ("Łódź", "Łódź"),
            ("東京", "東京"),
            ("Москва", "Москва"),
            ("القاهرة", "القاهرة"),
            ("मुंबई", "मुंबई"),
            ("กรุงเทพมหานคร", "กรุงเทพมหานคร"),
            ("Winston-Salem", "Winston-Salem"),
            ("St. John's", "St. John's"),
            ("L’Aquila", "L’Aquila"),
            ("Frankfurt (Oder)", "Frankfurt (Oder)"),
            ("Paris\n", "Paris"),
            ("Y", "Y"),
            (longest.as_str(), longest.as_str()),
        ] {
            let city = City::parse(input, "city").expect(input);
            assert_eq!(city.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn invalid_cities_name_the_field() {
        let too_long = "a".repeat(CITY_MAX_CHARS + 1);
        for input in [
            "",
            "   ",
            "Par\nis",
            "Par\u{0000}is",
            "Par\tis",
            "<script>",
            "Paris 16",
            "Washington, D.C.",
            "--",
            "()",
            "'.",
            too_long.as_str(),
        ] {
            let err = City::parse(input, "city").expect_err(input);
            assert_eq!(err.field(), Some("city"), "{input:?}");
        }
    }

    #[test]
    fn debug_hides_the_values() {
        let line = AddressLine::parse("1 Infinite Loop", "addressLine1").expect("valid");
        let city = City::parse("Cupertino", "city").expect("valid");
        assert_eq!(format!("{line:?}"), "AddressLine([REDACTED])");
        assert_eq!(format!("{city:?}"), "City([REDACTED])");
    }
}
