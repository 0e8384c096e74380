/// Whether the attempt worked. A refused attempt is as much a part of the record as a
/// successful one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Declares the event kinds, one line each: variant, stable name, outcome.
macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $outcome:ident;)*) => {
        /// What happened. The names are stable: operators search and alert on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }

        impl Kind {
            pub const ALL: &[Kind] = &[$(Kind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            pub fn outcome(self) -> Outcome {
                match self {
                    $(Self::$variant => Outcome::$outcome,)*
                }
            }
        }
    };
}

kinds! {
    AccountRegistered => "account.registered", Success;
    /// Someone registered with this account's address where registration must not reveal
    /// that it is taken; the holder was told.
    RegistrationWithTakenEmail => "account.registration_with_taken_email", Failure;
    /// By `custodian admin create`: no actor, the operator is outside the trail.
    AdminCreated => "admin.created", Success;
    /// `method`: `password` or `passkey` (what the sign-in started from).
    LoginSucceeded => "login.succeeded", Success;
    /// `reason`: `unknown_account`, `wrong_password`, `malformed`, `unknown_passkey` or
    /// `passkey_refused`; `method`: `password` or `passkey`.
    LoginFailed => "login.failed", Failure;
    TokenRefreshed => "token.refreshed", Success;
    /// A rotated refresh token came back: the session was revoked.
    RefreshTokenReused => "token.reuse_detected", Failure;
    LoggedOut => "logout", Success;
    /// `scope`: `one` or `others`; `count` for `others`.
    SessionRevoked => "session.revoked", Success;
    /// Someone asked for a reset link and one was sent.
    PasswordResetRequested => "password.reset_requested", Success;
    /// Someone asked for a reset link for an address no account has; nothing was sent.
    PasswordResetUnknownEmail => "password.reset_unknown_email", Failure;
    /// A reset link set a new password; every session ended (`sessions_ended`).
    PasswordResetCompleted => "password.reset_completed", Success;
    /// The signed-in person changed their password; other sessions ended (`sessions_ended`).
    PasswordChanged => "password.changed", Success;
    /// `changePassword` with a wrong current password.
    PasswordChangeFailed => "password.change_failed", Failure;
    /// A verification link was sent.
    EmailVerificationSent => "email.verification_sent", Success;
    EmailVerified => "email.verified", Success;
    /// Sign-in refused because the email is not verified (deployments that require it).
    LoginUnverified => "login.refused_unverified", Failure;
    /// `fields`: the API names of what changed, never the values.
    ProfileChanged => "profile.changed", Success;
    /// `from`, `to`, `review` (the id of the reason on file), `cause`: `review` or
    /// `profile_changed`.
    KycChanged => "kyc.changed", Success;
    /// An SSN was refused because another account holds it (which one is not recorded here
    /// either).
    SsnConflict => "ssn.conflict", Failure;
    /// An administrator read this person's full SSN; `reveal`: the id of the reason on file.
    SsnRevealed => "ssn.revealed", Success;
    /// An administrator read this person's personal data; `fields`: which.
    PersonalDataViewed => "personal_data.viewed", Success;
    /// The person downloaded everything held about them.
    AccountExported => "account.exported", Success;
    /// The person closed their account; personal data erased, this trail kept.
    AccountDeleted => "account.deleted", Success;
    /// `deleteAccount` with a wrong password.
    AccountDeleteFailed => "account.delete_failed", Failure;
    /// `enableMfa`: a secret is waiting for its first code.
    MfaEnrolmentStarted => "mfa.enrolment_started", Success;
    /// `confirmMfa` with a wrong code.
    MfaConfirmFailed => "mfa.confirm_failed", Failure;
    /// MFA is on; `sessions_ended`: other sessions that had not passed MFA.
    MfaEnabled => "mfa.enabled", Success;
    /// The right password of an account with MFA: a challenge was issued.
    MfaChallenged => "mfa.challenged", Success;
    /// The second step passed; `method`: `totp`, `recovery_code` or `passkey`.
    MfaVerified => "mfa.verified", Success;
    /// A wrong, replayed or spent code; `attempt` of the challenge.
    MfaFailed => "mfa.failed", Failure;
    /// MFA is off; other sessions ended.
    MfaDisabled => "mfa.disabled", Success;
    /// `disableMfa` or `regenerateRecoveryCodes` refused (`reason`: `password` or `code`).
    MfaChangeRefused => "mfa.change_refused", Failure;
    /// A recovery code was spent; `left`: how many remain.
    RecoveryCodeUsed => "recovery_code.used", Success;
    RecoveryCodesRegenerated => "recovery_codes.regenerated", Success;
    /// Ten wrong second-factor codes in a row: codes are refused for `minutes`.
    MfaLocked => "mfa.locked", Failure;
    /// An administrator asked to turn off this person's second factor; `request`: the id of
    /// the request on file, with its reason. A second administrator must approve it.
    MfaResetRequested => "mfa.reset_requested", Success;
    /// A second administrator approved the request: MFA off, recovery codes void, every
    /// session ended; `request` (whose requester is the actor of `mfa.reset_requested`), `sessions_ended`.
    MfaResetApproved => "mfa.reset_approved", Success;
    /// An administrator stopped a pending request; `request`.
    MfaResetCancelled => "mfa.reset_cancelled", Success;
    /// The session proved the password (and code) again, for sensitive changes.
    SessionReauthenticated => "session.reauthenticated", Success;
    /// `reauthenticate` refused (`reason`: `password` or `code`).
    ReauthenticationFailed => "session.reauthentication_failed", Failure;
    /// A sign-in from a browser without this account's device cookie; the owner was told.
    LoginNewDevice => "login.new_device", Success;
    /// A rate limit refused an attempt; `rule`. Recorded at most once a minute per rule and
    /// key, so a flood cannot turn into a flood of writes.
    RateLimitTripped => "rate_limit.tripped", Failure;
    /// By `custodian keys rotate`; `kid` of the new key, and when it starts signing.
    SigningKeyRotated => "signing_key.rotated", Success;
    /// A trail written before keying was keyed; `previous_head_seq` and `previous_head_hash`
    /// pin what it held.
    AuditChainKeyed => "audit.chain_keyed", Success;
    /// By `custodian audit checkpoint`; `seq` and `link` of the checkpoint.
    AuditCheckpoint => "audit.checkpoint", Success;
    /// By `custodian keys revoke`; `kid`, and `replaced_by` when a new key had to sign at once.
    SigningKeyRevoked => "signing_key.revoked", Success;
    /// By `custodian keys rotate-data`; `key`: the new data key's id, which encrypts from now.
    DataKeyAdded => "data_key.added", Success;
    /// By `custodian keys rewrap`; `master`: the master key's id, `count`: keys re-sealed.
    DataKeysResealed => "data_keys.resealed", Success;
    /// A signed-in caller asked for something their role does not allow; `operation`.
    AccessDenied => "access.denied", Failure;
    /// An administrator froze the account; every session ended (`sessions_ended`);
    /// `action`: the id of the reason on file.
    AccountSuspended => "account.suspended", Success;
    /// An administrator unfroze the account; `action`: the id of the reason on file.
    AccountReactivated => "account.reactivated", Success;
    /// The right password of a suspended account: no session.
    LoginSuspended => "login.refused_suspended", Failure;
    /// An administrator ended every session of the account; `count`, and `action`: the id of
    /// the reason on file.
    SessionsEndedByAdministrator => "sessions.ended_by_administrator", Success;
    /// An administrator changed the account's role (`from`, `to`); its sessions ended.
    RoleChanged => "role.changed", Success;
    /// The person asked to move their account to another address; a confirmation link went
    /// to it, unless another account holds it. The same record either way: the person's own
    /// trail must not say which.
    EmailChangeRequested => "email.change_requested", Success;
    /// Someone asked to move their account to this account's address; nothing changed, the
    /// holder was told.
    EmailChangeToTakenEmail => "email.change_to_taken_email", Failure;
    /// The link sent to the new address moved the account to it; the old address was sent a
    /// link that undoes it. `sessions_ended`.
    EmailChanged => "email.changed", Success;
    /// The link sent to the old address put it back; every session ended (`sessions_ended`).
    EmailChangeReverted => "email.change_reverted", Success;
    /// The person added a passkey; `passkey` (its id), `backed_up`.
    PasskeyAdded => "passkey.added", Success;
    /// The person removed a passkey; `passkey`.
    PasskeyRemoved => "passkey.removed", Success;
    /// A passkey answered with a signature counter that did not move forward: a copy of it
    /// exists. The sign-in was refused; `passkey`.
    PasskeyCloneSuspected => "passkey.clone_suspected", Failure;
}

impl Kind {
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|kind| kind.as_str()).collect();
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
    }
}
