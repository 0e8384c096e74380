//! What each email says. Every message has a plain-text and an HTML body with the same
//! content; links are the only variable part besides the product name.

/// An email Custodian sends.
#[derive(Debug)]
pub enum Mail {
    /// A link that sets a new password.
    PasswordReset {
        link: String,
        valid_minutes: u64,
    },
    /// A link that confirms the address.
    VerifyEmail {
        link: String,
        valid_hours: u64,
    },
    /// The password was changed by the signed-in person.
    PasswordChanged,
    /// The password was set through a reset link.
    PasswordWasReset,
    /// The address was confirmed.
    EmailVerified,
    /// A reviewer decided on the person's identity verification.
    KycDecision {
        status: &'static str,
        reason: Option<String>,
    },
    /// The account was closed and its personal data erased.
    AccountClosed,
    MfaEnabled,
    MfaDisabled,
    /// A recovery code was spent; `left` remain.
    RecoveryCodeUsed {
        left: u64,
    },
    /// Someone tried to register with this address, which already has an account.
    RegistrationAttempt,
    /// A sign-in from a browser that had not signed in to this account before.
    NewSignIn {
        /// When, as the person reads it (UTC).
        at: String,
        ip: String,
        /// Browser and system, from the User-Agent.
        device: String,
        /// Where the person reviews and ends sessions.
        sessions_link: String,
    },
    /// A rotated refresh token came back, so it was copied: its session was ended.
    RefreshTokenReused,
    /// Too many wrong codes in a row: codes are refused for `minutes`.
    SecondFactorLocked {
        minutes: i64,
    },
    /// Support froze the account.
    AccountSuspended,
    /// Support unfroze the account.
    AccountReactivated,
    /// Support signed the account out everywhere.
    SessionsEndedBySupport,
    /// An administrator gave the account another role.
    RoleChanged {
        role: &'static str,
    },
    /// An administrator asked to turn off two-step sign-in; a second one must approve.
    MfaResetRequested,
    /// Two administrators turned off two-step sign-in; every session was signed out.
    MfaResetApproved,
    /// To the address the person asked to move to: a link that makes the move.
    ConfirmEmailChange {
        link: String,
        valid_hours: u64,
    },
    /// To the holder of an address someone asked to move another account to.
    EmailChangeToTakenAddress,
    /// To the address an account just left: a link that takes it back.
    EmailChanged {
        revert_link: String,
        valid_hours: u64,
    },
    /// To the address a revert link restored.
    EmailChangeReverted,
    /// A passkey was added to the account.
    PasskeyAdded,
    /// A passkey was removed from the account.
    PasskeyRemoved,
}

/// A rendered message.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const NOT_YOU: &str = "If this was not you, reset your password at once and contact support.";

impl Mail {
    /// A short name for logs and metrics; never personal.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PasswordReset { .. } => "password_reset",
            Self::VerifyEmail { .. } => "verify_email",
            Self::PasswordChanged => "password_changed",
            Self::PasswordWasReset => "password_was_reset",
            Self::EmailVerified => "email_verified",
            Self::KycDecision { .. } => "kyc_decision",
            Self::AccountClosed => "account_closed",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::RecoveryCodeUsed { .. } => "recovery_code_used",
            Self::RegistrationAttempt => "registration_attempt",
            Self::NewSignIn { .. } => "new_sign_in",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::SecondFactorLocked { .. } => "second_factor_locked",
            Self::AccountSuspended => "account_suspended",
            Self::AccountReactivated => "account_reactivated",
            Self::SessionsEndedBySupport => "sessions_ended_by_support",
            Self::RoleChanged { .. } => "role_changed",
            Self::MfaResetRequested => "mfa_reset_requested",
            Self::MfaResetApproved => "mfa_reset_approved",
            Self::ConfirmEmailChange { .. } => "confirm_email_change",
            Self::EmailChangeToTakenAddress => "email_change_to_taken_address",
            Self::EmailChanged { .. } => "email_changed",
            Self::EmailChangeReverted => "email_change_reverted",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
        }
    }

    pub fn render(&self, product: &str) -> Rendered {
        match self {
            Self::PasswordReset {
                link,
                valid_minutes,
            } => with_link(
                format!("Reset your {product} password"),
                &format!(
                    "Someone asked to reset the password of your {product} account. Open this link to choose a new one; it works once, for {valid_minutes} minutes:"
                ),
                link,
                "If you did not ask for this, ignore this email: your password stays as it is.",
            ),
            Self::VerifyEmail { link, valid_hours } => with_link(
                format!("Confirm your email address for {product}"),
                &format!(
                    "Open this link to confirm that this address belongs to your {product} account. It works once, for {valid_hours} hours:"
                ),
                link,
                "If you did not create an account, ignore this email.",
            ),
            Self::PasswordChanged => notice(
                format!("Your {product} password was changed"),
                &format!(
                    "The password of your {product} account was just changed. Your other sessions were signed out."
                ),
            ),
            Self::PasswordWasReset => notice(
                format!("Your {product} password was reset"),
                &format!(
                    "The password of your {product} account was just reset with a link sent to this address. Every session was signed out."
                ),
            ),
            Self::EmailVerified => notice(
                format!("Your email address is confirmed for {product}"),
                &format!("This address is now confirmed for your {product} account."),
            ),
            Self::KycDecision { status, reason } => {
                let outcome = match *status {
                    "APPROVED" => "has been approved",
                    "REJECTED" => "was not approved",
                    _ => "is being reviewed again",
                };
                let reason = reason
                    .as_deref()
                    .map(|reason| format!(" The reviewer noted: {reason}"))
                    .unwrap_or_default();
                notice(
                    format!("Your {product} identity verification {outcome}"),
                    &format!(
                        "The identity verification of your {product} account {outcome}.{reason}"
                    ),
                )
            }
            Self::MfaEnabled => notice(
                format!("Two-step sign-in is on for your {product} account"),
                &format!(
                    "Signing in to your {product} account now takes a code from your authenticator app. Keep your recovery codes somewhere safe."
                ),
            ),
            Self::MfaDisabled => notice(
                format!("Two-step sign-in is off for your {product} account"),
                &format!(
                    "Signing in to your {product} account no longer asks for a code. Your other sessions were signed out."
                ),
            ),
            Self::RecoveryCodeUsed { left } => notice(
                format!("A recovery code was used for your {product} account"),
                &format!(
                    "A recovery code was just used to sign in to your {product} account; {left} remain. If you lost your authenticator, set it up again and make new codes."
                ),
            ),
            Self::RegistrationAttempt => notice(
                format!("Someone tried to create a {product} account with your address"),
                &format!(
                    "Someone tried to create a new {product} account with this email address, which already has one. Nothing changed. If it was you, sign in instead, or reset your password if you forgot it."
                ),
            ),
            Self::NewSignIn {
                at,
                ip,
                device,
                sessions_link,
            } => with_link(
                format!("A new sign-in to your {product} account"),
                &format!(
                    "Your {product} account was signed in to from a browser it had not seen before: {device}, from {ip}, at {at}. If this was you, there is nothing to do. Review your sessions and end any you do not recognise:"
                ),
                sessions_link,
                NOT_YOU,
            ),
            Self::RefreshTokenReused => notice(
                format!("A copied refresh token for your {product} account was used"),
                &format!(
                    "A refresh token of your {product} account came back after it had been replaced, which means it was copied. The session it belonged to was signed out; sign in again on that device."
                ),
            ),
            Self::SecondFactorLocked { minutes } => notice(
                format!("Too many sign-in attempts with wrong codes on your {product} account"),
                &format!(
                    "Ten codes in a row were wrong for your {product} account, so codes are refused for the next {minutes} minutes. If someone else is trying your password, change it now."
                ),
            ),
            Self::MfaResetRequested => notice(
                format!("A reset of two-step sign-in was requested for your {product} account"),
                &format!(
                    "Our support team was asked to turn off two-step sign-in for your {product} account, as when a phone is lost. Nothing has changed yet: a second administrator must approve it first."
                ),
            ),
            Self::MfaResetApproved => notice(
                format!("Support turned off two-step sign-in for your {product} account"),
                &format!(
                    "Two administrators of {product} turned off two-step sign-in for your account; your recovery codes no longer work and every session was signed out. Sign in with your password, then turn two-step sign-in on again with your authenticator app."
                ),
            ),
            Self::ConfirmEmailChange { link, valid_hours } => with_link(
                format!("Confirm your new email address for {product}"),
                &format!(
                    "Someone signed in to a {product} account asked to use this address for it from now on. Open this link to make the change; it works once, for {valid_hours} hours:"
                ),
                link,
                "If you did not ask for this, ignore this email: nothing changes.",
            ),
            Self::EmailChangeToTakenAddress => notice(
                format!("Someone tried to move a {product} account to your address"),
                &format!(
                    "Someone signed in to another {product} account asked to use this email address for it. It already belongs to your account, so nothing changed and they were not told that it does."
                ),
            ),
            Self::EmailChanged {
                revert_link,
                valid_hours,
            } => with_link(
                format!("The email address of your {product} account was changed"),
                &format!(
                    "Your {product} account now uses another email address, and this one no longer signs in to it. Sessions on other devices were signed out. If you did not make this change, open this link within {valid_hours} hours to put this address back and sign everyone out:"
                ),
                revert_link,
                "Then reset your password at once and contact support.",
            ),
            Self::EmailChangeReverted => plain(
                format!("Your {product} account uses this email address again"),
                &format!(
                    "The change of your {product} account's email address was undone: it uses this address again, every session was signed out, and links sent to the other address no longer work."
                ),
                "Whoever made the change could sign in: reset your password now, then check your two-step sign-in and your sessions.",
            ),
            Self::PasskeyAdded => notice(
                format!("A passkey was added to your {product} account"),
                &format!(
                    "A new passkey was added to your {product} account: it signs in without the password, from the device or password manager that holds it. Your passkeys are listed in your security settings."
                ),
            ),
            Self::PasskeyRemoved => notice(
                format!("A passkey was removed from your {product} account"),
                &format!(
                    "A passkey was removed from your {product} account and no longer signs in to it."
                ),
            ),
            Self::AccountClosed => notice(
                format!("Your {product} account is closed"),
                &format!(
                    "Your {product} account was closed and the personal data it held was erased. Records the law requires us to keep, such as the security log, remain."
                ),
            ),
            Self::AccountSuspended => notice(
                format!("Your {product} account is suspended"),
                &format!(
                    "Our support team suspended your {product} account and signed it out everywhere. Until it is reactivated, nobody can sign in to it or reset its password. Please contact support to find out more."
                ),
            ),
            Self::AccountReactivated => notice(
                format!("Your {product} account is active again"),
                &format!(
                    "Our support team reactivated your {product} account: you can sign in again. If you did not expect this, contact support."
                ),
            ),
            Self::SessionsEndedBySupport => notice(
                format!("You were signed out of {product} everywhere"),
                &format!(
                    "Our support team signed your {product} account out on every device. Sign in again to continue. If you did not expect this, contact support."
                ),
            ),
            Self::RoleChanged { role } => {
                let what = match *role {
                    "ADMIN" => "an administrator",
                    _ => "a regular user",
                };
                notice(
                    format!("Your {product} account's role changed"),
                    &format!(
                        "An administrator made your {product} account {what}, and signed it out everywhere so the change takes effect. Sign in again to continue. If you did not expect this, contact support."
                    ),
                )
            }
        }
    }
}

fn with_link(subject: String, lead: &str, link: &str, closing: &str) -> Rendered {
    let text = format!("{lead}\n\n{link}\n\n{closing}\n");
    let html = page(
        &subject,
        &format!(
            "<p>{}</p><p><a href=\"{link}\">{link}</a></p><p>{}</p>",
            escape(lead),
            escape(closing),
            link = escape(link)
        ),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

fn notice(subject: String, lead: &str) -> Rendered {
    plain(subject, lead, NOT_YOU)
}

/// A message without a link, closing with `closing`.
fn plain(subject: String, lead: &str, closing: &str) -> Rendered {
    let text = format!("{lead}\n\n{closing}\n");
    let html = page(
        &subject,
        &format!("<p>{}</p><p>{}</p>", escape(lead), escape(closing)),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
        escape(title)
    )
}

/// HTML-escapes text: the product name and links are configuration, not markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_escaped_in_html() {
        let rendered = Mail::PasswordChanged.render("<b>Bank</b> & Co");
        assert!(rendered.html.contains("&lt;b&gt;Bank&lt;/b&gt; &amp; Co"));
        assert!(!rendered.html.contains("<b>Bank"));
        assert!(rendered.text.contains("<b>Bank</b> & Co"));
    }

    #[test]
    fn links_appear_in_both_bodies() {
        let link = "https://app.example.com/reset?token=abc_DEF-123";
        let rendered = Mail::PasswordReset {
            link: link.into(),
            valid_minutes: 30,
        }
        .render("Custodian");
        assert!(rendered.text.contains(link));
        assert!(rendered.html.contains(&format!("href=\"{link}\"")));
        assert!(rendered.text.contains("30 minutes"));
    }
}
