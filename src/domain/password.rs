use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;
use zxcvbn::Score;

use crate::error::AppError;

/// NIST 800-63B: at least 12 characters here, and no silent truncation up to 128.
pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;
/// A login attempt longer than this cannot match any stored password; refusing it early stops
/// megabyte-sized inputs from reaching the hasher.
const MAX_ATTEMPT_BYTES: usize = 4 * MAX_CHARS;

/// NFKC, so the same passphrase typed on two keyboards (full-width, ligatures) is one password.
fn normalise(input: &str) -> SecretString {
    input.nfkc().collect::<String>().into()
}

/// A password that passed the policy: length, and not guessable from common lists or from the
/// person's own email and names.
pub struct NewPassword(SecretString);

impl NewPassword {
    /// `personal` holds what an attacker would try first: the email and the names.
    pub fn parse(input: &str, field: &str, personal: &[&str]) -> Result<Self, AppError> {
        // Checked on the raw input too, so every password accepted here is one a login
        // attempt (capped the same way) can present.
        if input.len() > MAX_ATTEMPT_BYTES {
            return Err(AppError::bad_input(
                field,
                format!("must be at most {MAX_CHARS} characters long"),
            ));
        }
        let normalised = normalise(input);
        let text = normalised.expose_secret();
        let chars = text.chars().count();
        if chars < MIN_CHARS {
            return Err(AppError::bad_input(
                field,
                format!("must be at least {MIN_CHARS} characters long"),
            ));
        }
        if chars > MAX_CHARS {
            return Err(AppError::bad_input(
                field,
                format!("must be at most {MAX_CHARS} characters long"),
            ));
        }
        let estimate = zxcvbn::zxcvbn(text, personal);
        if estimate.score() < Score::Three {
            let why = estimate
                .feedback()
                .and_then(|feedback| feedback.warning())
                .map(|warning| warning.to_string())
                .unwrap_or_else(|| "This password is too easy to guess.".into());
            return Err(AppError::bad_input(
                field,
                format!(
                    "is too easy to guess: {} Try a longer phrase of unrelated words.",
                    why.trim()
                ),
            ));
        }
        if leans_on_personal_data(text, personal) {
            return Err(AppError::bad_input(
                field,
                "is too easy to guess: it is built from your name or email. Try a longer phrase of unrelated words.",
            ));
        }
        Ok(Self(normalised))
    }

    /// A password that was just verified against its stored hash: it passed the policy in
    /// force when it was set, and re-hashing it must not depend on today's policy.
    pub fn accept_verified(attempt: &PasswordAttempt) -> Option<Self> {
        attempt.0.clone().map(Self)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// True when the password contains the person's name or email and what is left without them
/// would be guessable on its own (`adalovelace1234`).
fn leans_on_personal_data(password: &str, personal: &[&str]) -> bool {
    let mut rest = password.to_lowercase();
    let mut found = false;
    let mut words: Vec<String> = personal
        .iter()
        .flat_map(|item| item.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    words.sort_by_key(|word| std::cmp::Reverse(word.len()));
    for word in &words {
        if rest.contains(word.as_str()) {
            found = true;
            rest = rest.replace(word.as_str(), " ");
        }
    }
    found && zxcvbn::zxcvbn(rest.trim(), &[]).score() < Score::Three
}

/// A password offered to be checked (sign-in, or a re-check before a sensitive change):
/// normalised like a new one, never judged by the policy (which may have changed since it was
/// set). One too long to be any stored password is kept as impossible, so it fails the check
/// like a wrong one without reaching the hasher.
pub struct PasswordAttempt(Option<SecretString>);

impl PasswordAttempt {
    pub fn parse(input: &str) -> Self {
        Self((input.len() <= MAX_ATTEMPT_BYTES).then(|| normalise(input)))
    }

    /// The password, unless it is too long to be anyone's.
    pub fn expose(&self) -> Option<&str> {
        self.0.as_ref().map(ExposeSecret::expose_secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSONAL: &[&str] = &["ada", "lovelace", "ada.lovelace@example.com"];

    #[test]
    fn length_bounds() {
        let eleven = "qz7#vR1!mK9";
        assert_eq!(eleven.chars().count(), 11);
        assert!(NewPassword::parse(eleven, "password", PERSONAL).is_err());
        assert!(NewPassword::parse("qz7#vR1!mK9w", "password", PERSONAL).is_ok());
        let too_long = "correct horse battery staple ".repeat(5);
        assert!(too_long.chars().count() > MAX_CHARS);
        assert!(NewPassword::parse(&too_long, "password", PERSONAL).is_err());
    }

    #[test]
    fn every_accepted_password_fits_a_login_attempt() {
        // Hangul typed as jamo: 9 bytes each, one syllable after NFKC; 60 of them are 540 bytes.
        let decomposed = [
            "\u{1100}\u{1161}\u{11a8}",
            "\u{1102}\u{1165}\u{11ab}",
            "\u{1106}\u{1169}\u{11af}",
        ]
        .map(|syllable| syllable.repeat(20))
        .concat();
        assert_eq!(normalise(&decomposed).expose_secret().chars().count(), 60);
        assert!(decomposed.len() > MAX_ATTEMPT_BYTES);
        assert!(NewPassword::parse(&decomposed, "password", PERSONAL).is_err());
        assert!(PasswordAttempt::parse(&decomposed).expose().is_none());
    }

    #[test]
    fn common_and_personal_passwords_are_refused_with_a_reason() {
        for guessable in [
            "password1234",
            "qwertyuiop123",
            "adalovelace1234",
            "123456789012",
        ] {
            let err = match NewPassword::parse(guessable, "password", PERSONAL) {
                Err(err) => err,
                Ok(_) => panic!("{guessable} was accepted"),
            };
            assert_eq!(err.field(), Some("password"));
            assert!(err.to_string().contains("too easy to guess"), "{err}");
        }
    }

    #[test]
    fn unicode_and_long_phrases_are_accepted() {
        assert!(NewPassword::parse("correct horse battery staple", "password", PERSONAL).is_ok());
        let emoji = "🔐🦀🌍🎹 mañana über façade naïve ☕️🧪📈";
        assert!(NewPassword::parse(emoji, "password", PERSONAL).is_ok());
    }

    #[test]
    fn nfkc_makes_full_width_the_same_password() {
        let full_width = PasswordAttempt::parse("ｃｏｒｒｅｃｔ horse");
        assert_eq!(full_width.expose(), Some("correct horse"));
    }
}
