//! Multi-factor authentication with TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step) and
//! single-use recovery codes.
//!
//! Every "only once" is a conditional update: a challenge is used once, a time step is
//! accepted once per account (replays and two concurrent requests with one code fail), and a
//! recovery code is spent once.

use chrono::{DateTime, TimeDelta, Utc};
use qrcode::{QrCode, render::svg};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::{
    ClientInfo, Principal,
    access_tokens::AuthMethods,
    audit::{self, Event, Kind},
    data_keys,
    devices::Device,
    passkeys, rotate_security_stamp,
    sessions::{self, AuthOutcome},
    signed_in_account,
    throttle::Limit,
    unit_of_work::Work,
};
use crate::{
    cache::sessions::SessionChange,
    crypto::{
        TokenHash,
        envelope::{DataKeys, HashPurpose},
        random_bytes, random_token, sha256_hex,
    },
    db::{
        self,
        accounts::SealedColumn,
        entities::{accounts::Model as Account, mfa_challenges},
        sessions::RevokeReason,
    },
    domain::{AccountId, OneTimeCode, OpaqueToken, PasswordAttempt},
    error::{AppError, AppResult},
    mail::Mail,
    state::AppState,
};

const CHALLENGE_TTL: TimeDelta = TimeDelta::minutes(5);
/// Wrong codes a challenge survives; the fifth ends it.
const MAX_FAILURES: i32 = 5;
const RECOVERY_CODES: usize = 10;
/// Base32 without padding: 12 symbols are 60 bits per recovery code.
const RECOVERY_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Wrong codes in a row, across challenges and re-authentication, that lock codes out…
const LOCKOUT_STREAK: i32 = 10;
/// …for this long at first, doubling with each lockout in a row…
const FIRST_LOCKOUT: TimeDelta = TimeDelta::minutes(15);
/// …up to this.
const LONGEST_LOCKOUT: TimeDelta = TimeDelta::hours(24);
/// Wrong codes in all after which only a password reset lets codes be tried again
/// (NIST 800-63B, 5.2.2: at most 100 consecutive failures).
const MAX_CODE_FAILURES: i32 = 100;

/// What `enableMfa` hands over: the secret three ways, for typing, links and scanning.
pub struct Setup {
    pub secret: SecretString,
    pub otpauth_uri: SecretString,
    pub qr_code_svg: String,
}

/// The second step of a sign-in.
pub struct Challenge {
    pub token: SecretString,
    pub expires_at: DateTime<Utc>,
    /// What the account can complete it with.
    pub methods: Vec<Factor>,
    /// Request options for the account's passkeys, when it has any.
    pub passkey_options: Option<Value>,
}

fn internal(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> AppError {
    move |err| AppError::Internal(anyhow::anyhow!("{what}: {err}"))
}

fn totp(state: &AppState, secret: Vec<u8>, account_name: &str) -> AppResult<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some(state.settings.sessions.mfa_issuer.as_str()))
        .with_account_name(account_name)
        .build()
        .map_err(|err| internal("totp")(&err))
}

async fn open_secret(state: &AppState, account: &Account, sealed: &str) -> AppResult<Totp> {
    data_keys::ensure_readable(state, &[Some(sealed)]).await?;
    let secret = state
        .keys
        .decrypt(
            sealed,
            &SealedColumn::MfaSecret.context(AccountId(account.id)),
        )
        .map_err(|err| internal("opening the TOTP secret")(&err))?;
    totp(state, secret.to_vec(), &account.email)
}

fn unix_seconds(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or_default()
}

/// The TOTP time step `code` belongs to, if it is right now (±1 step).
fn totp_step(totp: &Totp, code: &OneTimeCode, now: DateTime<Utc>) -> Option<i64> {
    totp.check(code.totp()?, unix_seconds(now))
        .and_then(|step| i64::try_from(step).ok())
}

/// `enableMfa`: a new secret, pending until `confirmMfa` proves the app has it.
pub async fn start_enrolment(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> AppResult<Setup> {
    sessions::require_recent_authentication(state, principal).await?;
    let account = signed_in_account(state, principal.account).await?;
    if account.mfa_enabled {
        return Err(already_on());
    }
    let secret = random_bytes::<20>();
    let totp = totp(state, secret.to_vec(), &account.email)?;
    let sealed = state
        .keys
        .encrypt(
            &secret,
            &SealedColumn::MfaPendingSecret.context(principal.account),
        )
        .map_err(|err| internal("sealing the TOTP secret")(&err))?;
    let now = state.clock.now();
    let work = Work::begin(state).await?;
    if !db::mfa::set_pending_secret(&work, principal.account, &sealed, now).await? {
        return Err(already_on());
    }
    let event = Event::new(Kind::MfaEnrolmentStarted)
        .by_principal(principal)
        .client(client);
    work.record(event).await?;
    work.commit().await?;
    let uri = totp.to_url().map_err(|err| internal("otpauth URI")(&err))?;
    let qr_code_svg = QrCode::new(uri.as_bytes())
        .map_err(|err| internal("QR code")(&err))?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(Setup {
        secret: Secret::from(secret).to_base32().into(),
        otpauth_uri: uri.into(),
        qr_code_svg,
    })
}

fn already_on() -> AppError {
    AppError::Conflict {
        field: "mfa".into(),
        message: "two-step sign-in is already on".into(),
    }
}

fn not_on() -> AppError {
    AppError::Conflict {
        field: "mfa".into(),
        message: "two-step sign-in is not on".into(),
    }
}

/// `confirmMfa`: the first code turns MFA on. Sessions that never passed MFA end, this one
/// counts as verified, and ten recovery codes are returned, once.
pub async fn confirm(
    state: &AppState,
    principal: &Principal,
    code: &OneTimeCode,
    client: &ClientInfo,
) -> AppResult<Vec<SecretString>> {
    let account = signed_in_account(state, principal.account).await?;
    if account.mfa_enabled {
        return Err(already_on());
    }
    let Some(pending) = account.mfa_pending_secret.as_deref() else {
        return Err(AppError::bad_input(
            "code",
            "no enrolment is in progress: call enableMfa first",
        ));
    };
    let now = state.clock.now();
    let Some(step) = totp_step(&open_secret(state, &account, pending).await?, code, now) else {
        let event = Event::new(Kind::MfaConfirmFailed)
            .by_principal(principal)
            .client(client);
        audit::record_alone(state, event).await?;
        return Err(wrong_code());
    };
    let mut work = Work::begin(state).await?;
    if !db::mfa::activate(&work, principal.account, pending, step, now).await? {
        return Err(already_on());
    }
    db::sessions::mark_mfa_verified(
        work.txn(),
        principal.session,
        &AuthMethods::PasswordAndOtp.stored(),
    )
    .await?;
    work.sessions_changed(SessionChange::Session(principal.session))
        .await?;
    rotate_security_stamp(&work, principal.account).await?;
    let (codes, ended) = renew_recovery_codes(state, &mut work, principal).await?;
    let event = Event::new(Kind::MfaEnabled)
        .by_principal(principal)
        .client(client)
        .detail("sessions_ended", ended);
    work.record(event).await?;
    work.mail(&account, Mail::MfaEnabled);
    work.commit().await?;
    Ok(codes)
}

fn wrong_code() -> AppError {
    AppError::bad_input("code", "is not a valid code")
}

/// How a recovery code is stored: a keyed hash (60 bits is few enough that a database dump
/// must not be able to test guesses), of the code's SHA-256, which is what codes were stored as
/// before they were keyed, so those could be keyed in place.
fn recovery_code_hash(keys: &DataKeys, symbols: &str) -> String {
    keys.keyed_hash(
        HashPurpose::RecoveryCode,
        sha256_hex(symbols.as_bytes()).as_bytes(),
    )
}

/// Ten fresh recovery codes (`ABCD-EFGH-IJKL`, 60 bits each) and their hashes.
fn recovery_codes(keys: &DataKeys) -> (Vec<SecretString>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bits = u64::from_le_bytes(random_bytes::<8>());
            let symbols: String = (0..12)
                .map(|index| char::from(RECOVERY_ALPHABET[((bits >> (index * 5)) & 31) as usize]))
                .collect();
            let hash = recovery_code_hash(keys, &symbols);
            let code = format!("{}-{}-{}", &symbols[0..4], &symbols[4..8], &symbols[8..12]);
            (SecretString::from(code), hash)
        })
        .unzip()
}

/// Replaces the caller's recovery codes with ten new ones and ends the sessions that never
/// passed MFA (they cannot be trusted with an account that now has it); answers the codes and
/// how many sessions ended.
async fn renew_recovery_codes(
    state: &AppState,
    work: &mut Work<'_>,
    principal: &Principal,
) -> AppResult<(Vec<SecretString>, u64)> {
    let (codes, hashes) = recovery_codes(&state.keys);
    db::mfa::replace_recovery_codes(work.txn(), principal.account, hashes, work.now()).await?;
    let ended = db::sessions::revoke_unverified_except(
        work.txn(),
        principal.account,
        principal.session,
        work.now(),
    )
    .await?;
    if ended > 0 {
        work.sessions_changed(SessionChange::Account(principal.account))
            .await?;
    }
    Ok((codes, ended))
}

/// Issues the second step for an account whose password was just verified.
/// The challenge carries the account's security stamp as it was when the password was
/// checked: a credential change before `verifyMfa` voids it.
pub async fn challenge(
    state: &AppState,
    account: &Account,
    client: &ClientInfo,
) -> AppResult<Challenge> {
    let id = AccountId(account.id);
    let now = state.clock.now();
    let token = random_token();
    let expires_at = now + CHALLENGE_TTL;
    let work = Work::begin(state).await?;
    let challenge = db::mfa::insert_challenge(
        work.txn(),
        id,
        &TokenHash::of(&token),
        &account.security_stamp,
        now,
        expires_at,
    )
    .await?;
    let passkey_options = passkeys::second_factor_options(state, &work, account, challenge).await?;
    let mut methods = vec![Factor::Totp];
    if db::mfa::recovery_codes_left(work.txn(), id).await? > 0 {
        methods.push(Factor::RecoveryCode);
    }
    if passkey_options.is_some() {
        methods.push(Factor::Passkey);
    }
    let event = Event::new(Kind::MfaChallenged).subject(id).client(client);
    work.record(event).await?;
    work.commit().await?;
    Ok(Challenge {
        token,
        expires_at,
        methods,
        passkey_options,
    })
}

/// Checks a second-factor code of an account with MFA on, under the lockout rules (see
/// [`refuse_while_locked`] and [`settle`]). `None` when the code is wrong.
pub(super) async fn check_second_factor(
    state: &AppState,
    account: &Account,
    code: &OneTimeCode,
    allow_recovery: bool,
    client: &ClientInfo,
) -> AppResult<Option<Factor>> {
    refuse_while_locked(state, account)?;
    let factor = check_code(state, account, code, allow_recovery).await?;
    settle(state, account, factor.is_some(), client).await?;
    Ok(factor)
}

/// Refuses a second factor while they are locked out (`RATE_LIMITED` until when) or after too
/// many failures in all (a password reset lifts that).
pub(super) fn refuse_while_locked(state: &AppState, account: &Account) -> AppResult<()> {
    let now = state.clock.now();
    if account.mfa_failures_total >= MAX_CODE_FAILURES {
        return Err(AppError::SecondFactorBlocked);
    }
    if let Some(until) = account.mfa_locked_until
        && until > now
    {
        return Err(AppError::RateLimited {
            rule: "mfa_lockout",
            retry_after_secs: u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1),
        });
    }
    Ok(())
}

/// Counts a checked second factor: a wrong one towards the next lockout, a right one starts
/// the streak over.
pub(super) async fn settle(
    state: &AppState,
    account: &Account,
    passed: bool,
    client: &ClientInfo,
) -> AppResult<()> {
    if passed {
        db::mfa::clear_code_streak(&state.db, AccountId(account.id)).await?;
        Ok(())
    } else {
        code_failed(state, account, client).await
    }
}

/// Counts a wrong code; the one that completes a streak locks codes out and tells the owner
/// (once per lockout, however many requests failed at once).
async fn code_failed(state: &AppState, account: &Account, client: &ClientInfo) -> AppResult<()> {
    let id = AccountId(account.id);
    let Some(counted) = db::mfa::count_code_failure(&state.db, id).await? else {
        return Ok(());
    };
    if counted.mfa_failed_streak < LOCKOUT_STREAK {
        return Ok(());
    }
    let doublings = u32::try_from(counted.mfa_lockouts).unwrap_or(0).min(8);
    let wait = (FIRST_LOCKOUT * 2_i32.pow(doublings)).min(LONGEST_LOCKOUT);
    let mut work = Work::begin(state).await?;
    if !db::mfa::lock_codes(work.txn(), id, LOCKOUT_STREAK, work.now() + wait).await? {
        return Ok(());
    }
    let minutes = wait.num_minutes();
    let event = Event::new(Kind::MfaLocked)
        .subject(id)
        .client(client)
        .detail("minutes", minutes);
    work.record(event).await?;
    work.mail(account, Mail::SecondFactorLocked { minutes });
    work.commit().await
}

/// A second factor: what a challenge offers, and what completed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
    Passkey,
}

impl Factor {
    /// As the API and the audit trail name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey => "passkey",
        }
    }
}

/// Checks `code` as a TOTP code (accepting its time step only once) or as a recovery code
/// (spending it). `None` when it is neither, or was already used.
async fn check_code(
    state: &AppState,
    account: &Account,
    code: &OneTimeCode,
    allow_recovery: bool,
) -> AppResult<Option<Factor>> {
    let id = AccountId(account.id);
    let Some(sealed) = account.mfa_secret.as_deref() else {
        return Ok(None);
    };
    let now = state.clock.now();
    if let Some(step) = totp_step(&open_secret(state, account, sealed).await?, code, now) {
        let fresh = db::mfa::accept_step(&state.db, id, step).await?;
        return Ok(fresh.then_some(Factor::Totp));
    }
    // Recovery codes are compared without dashes, spaces or case, as people type them.
    let Some(recovery) = code.recovery().filter(|_| allow_recovery) else {
        return Ok(None);
    };
    let hash = recovery_code_hash(&state.keys, recovery.expose_secret());
    let used = db::mfa::use_recovery_code(&state.db, id, &hash, now).await?;
    Ok(used.then_some(Factor::RecoveryCode))
}

fn invalid_challenge() -> AppError {
    AppError::MfaChallengeInvalid
}

/// `verifyMfa`: completes a sign-in with a TOTP code or a recovery code. A wrong code counts
/// against the challenge; the fifth ends it.
pub async fn verify(
    state: &AppState,
    mfa_token: &OpaqueToken,
    code: &OneTimeCode,
    device: Option<Device>,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let (challenge, account) = open_challenge(state, mfa_token, client).await?;
    let Some(factor) = check_second_factor(state, &account, code, true, client).await? else {
        return Err(challenge_failed(state, &challenge, client, wrong_code()).await);
    };
    complete(state, &challenge, &account, factor, device, client).await
}

/// The open challenge `mfa_token` names and its account, once the account's attempts are
/// counted (`mfa_account`). A credential change since the password was checked voids it.
pub(super) async fn open_challenge(
    state: &AppState,
    mfa_token: &OpaqueToken,
    client: &ClientInfo,
) -> AppResult<(mfa_challenges::Model, Account)> {
    let now = state.clock.now();
    let hash = TokenHash::of(mfa_token.secret());
    let challenge = db::mfa::find_open_challenge(&state.db, &hash, now, MAX_FAILURES)
        .await?
        .ok_or_else(invalid_challenge)?;
    let id = AccountId(challenge.account_id);
    let account = signed_in_account(state, id)
        .await
        .map_err(|_| invalid_challenge())?;
    if !account.mfa_enabled || account.security_stamp != challenge.security_stamp {
        return Err(invalid_challenge());
    }
    Limit::mfa_account().spend(state, client, Some(id)).await?;
    Ok((challenge, account))
}

/// A wrong second factor: counted against the challenge (the fifth ends it) and recorded;
/// answers `error`.
pub(super) async fn challenge_failed(
    state: &AppState,
    challenge: &mfa_challenges::Model,
    client: &ClientInfo,
    error: AppError,
) -> AppError {
    let result = async {
        db::mfa::count_failure(&state.db, challenge.id).await?;
        let event = Event::new(Kind::MfaFailed)
            .subject(AccountId(challenge.account_id))
            .client(client)
            .detail("attempt", challenge.failed_attempts + 1);
        audit::record_alone(state, event).await
    }
    .await;
    match result {
        Ok(()) => error,
        Err(err) => err,
    }
}

/// Uses the challenge that `factor` passed and opens the session.
pub(super) async fn complete(
    state: &AppState,
    challenge: &mfa_challenges::Model,
    account: &Account,
    factor: Factor,
    device: Option<Device>,
    client: &ClientInfo,
) -> AppResult<AuthOutcome> {
    let id = AccountId(account.id);
    let now = state.clock.now();
    let work = Work::begin(state).await?;
    let claimed = db::mfa::claim_challenge(work.txn(), challenge.id, now, MAX_FAILURES).await?;
    work.commit().await?;
    if !claimed {
        return Err(invalid_challenge());
    }
    let mut events = vec![
        Event::new(Kind::MfaVerified)
            .by(id)
            .client(client)
            .detail("method", factor.as_str()),
    ];
    let mut work = Work::begin(state).await?;
    if factor == Factor::RecoveryCode {
        let left = db::mfa::recovery_codes_left(work.txn(), id).await?;
        events.push(
            Event::new(Kind::RecoveryCodeUsed)
                .by(id)
                .client(client)
                .detail("left", left),
        );
        work.mail(account, Mail::RecoveryCodeUsed { left });
    }
    let methods = match factor {
        Factor::Totp | Factor::RecoveryCode => AuthMethods::PasswordAndOtp,
        Factor::Passkey => AuthMethods::PasswordAndPasskey,
    };
    sessions::sign_in(state, work, account, client, methods, &events, device).await
}

/// `disableMfa`: needs the password and a current code (or a recovery code); ends every
/// other session.
pub async fn disable(
    state: &AppState,
    principal: &Principal,
    password: &PasswordAttempt,
    code: &OneTimeCode,
    client: &ClientInfo,
) -> AppResult<()> {
    sessions::require_recent_authentication(state, principal).await?;
    let account = signed_in_account(state, principal.account).await?;
    if !account.mfa_enabled {
        return Err(not_on());
    }
    if !state
        .passwords
        .matches(password, &account.password_hash)
        .await?
    {
        refused(state, principal, client, "password").await?;
        return Err(AppError::bad_input("password", "is not correct"));
    }
    if check_second_factor(state, &account, code, true, client)
        .await?
        .is_none()
    {
        refused(state, principal, client, "code").await?;
        return Err(wrong_code());
    }
    let now = state.clock.now();
    let mut work = Work::begin(state).await?;
    if !db::mfa::deactivate(&work, principal.account, now).await? {
        return Err(not_on());
    }
    db::mfa::delete_recovery_codes(work.txn(), principal.account).await?;
    rotate_security_stamp(&work, principal.account).await?;
    let ended = db::sessions::revoke_all_except(
        work.txn(),
        principal.account,
        Some(principal.session),
        RevokeReason::MfaChanged,
        now,
    )
    .await?;
    work.sessions_changed(SessionChange::Account(principal.account))
        .await?;
    let event = Event::new(Kind::MfaDisabled)
        .by_principal(principal)
        .client(client)
        .detail("sessions_ended", ended);
    work.record(event).await?;
    work.mail(&account, Mail::MfaDisabled);
    work.commit().await?;
    Ok(())
}

async fn refused(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
    reason: &'static str,
) -> AppResult<()> {
    let event = Event::new(Kind::MfaChangeRefused)
        .by_principal(principal)
        .client(client)
        .detail("reason", reason);
    audit::record_alone(state, event).await
}

/// `regenerateRecoveryCodes`: a current TOTP code (not a recovery code) replaces every
/// recovery code with ten new ones.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    principal: &Principal,
    code: &OneTimeCode,
    client: &ClientInfo,
) -> AppResult<Vec<SecretString>> {
    sessions::require_recent_authentication(state, principal).await?;
    let account = signed_in_account(state, principal.account).await?;
    if !account.mfa_enabled {
        return Err(not_on());
    }
    if check_second_factor(state, &account, code, false, client)
        .await?
        .is_none()
    {
        refused(state, principal, client, "code").await?;
        return Err(wrong_code());
    }
    let mut work = Work::begin(state).await?;
    rotate_security_stamp(&work, principal.account).await?;
    let (codes, ended) = renew_recovery_codes(state, &mut work, principal).await?;
    let event = Event::new(Kind::RecoveryCodesRegenerated)
        .by_principal(principal)
        .client(client)
        .detail("sessions_ended", ended);
    work.record(event).await?;
    work.commit().await?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows: key "12345678901234567890", 8 digits.
    #[test]
    fn rfc_6238_appendix_b_sha1() {
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(b"12345678901234567890".to_vec())
            .build()
            .expect("valid");
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.generate(time).to_string(), code, "T={time}");
        }
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised() {
        let keys = DataKeys::ephemeral();
        let (codes, hashes) = recovery_codes(&keys);
        assert_eq!(codes.len(), 10);
        let mut unique: Vec<&str> = codes.iter().map(|code| code.expose_secret()).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        let first = codes[0].expose_secret();
        assert_eq!(first.len(), 14);
        let typed = OneTimeCode::parse(&first.to_lowercase().replace('-', " "))
            .recovery()
            .expect("a recovery code's shape");
        assert_eq!(recovery_code_hash(&keys, typed.expose_secret()), hashes[0]);
        assert_ne!(hashes[0], sha256_hex(typed.expose_secret().as_bytes()));
    }
}
