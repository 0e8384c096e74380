//! Accounts: reading them, the profile, KYC review, data export and closing an account.

use chrono::{DateTime, Utc};

use super::{
    ClientInfo, Principal,
    account_info::AccountInfo,
    audit::{self, Event, Kind},
    data_keys,
    profile::{self, Change, ProfileEdit},
    rotate_security_stamp, shown_account, signed_in_account,
    throttle::Limit,
    unit_of_work::Work,
};
use crate::{
    cache::sessions::SessionChange,
    db::{
        self,
        account_tokens::Purpose,
        accounts::{ProfileWrite, Search, StoredProfile},
        audit_events::Filter,
        entities::{accounts, audit_events, kyc_reviews, sessions},
        kyc_reviews::NewReview,
        sessions::RevokeReason,
    },
    domain::{AccountId, KycStatus, PasswordAttempt, PersonName, Reason, SessionId},
    error::{AppError, AppResult, Denial, TokenRejection},
    mail::Mail,
    state::AppState,
};

/// The signed-in caller's account.
pub async fn me(state: &AppState, id: AccountId) -> AppResult<AccountInfo> {
    AccountInfo::open(state, &*shown_account(state, id).await?).await
}

/// What an administrator reads, and of it, which personal fields (as the API names them): the
/// trail says who looked at whose data.
pub struct AdminRead<'a> {
    pub viewer: &'a Principal,
    pub fields: &'a [&'a str],
    /// What the administrator searched by, as the API names it (never the values).
    pub criteria: &'a [&'a str],
    pub client: &'a ClientInfo,
}

/// Any open account, for administrators.
pub async fn find(
    state: &AppState,
    id: AccountId,
    read: AdminRead<'_>,
) -> AppResult<Option<AccountInfo>> {
    let Some(account) = find_open(state, id).await? else {
        return Ok(None);
    };
    record_views(state, &read, &[id]).await?;
    AccountInfo::open(state, &account).await.map(Some)
}

/// One `personal_data.viewed` per person whose personal fields an administrator read (not
/// their own), in one transaction.
async fn record_views(state: &AppState, read: &AdminRead<'_>, ids: &[AccountId]) -> AppResult<()> {
    if read.fields.is_empty() {
        return Ok(());
    }
    let work = Work::begin(state).await?;
    for id in ids.iter().filter(|id| **id != read.viewer.account) {
        let mut event = Event::new(Kind::PersonalDataViewed)
            .actor(read.viewer.account)
            .subject(*id)
            .session(read.viewer.session)
            .client(read.client)
            .detail("fields", read.fields.to_vec());
        if !read.criteria.is_empty() {
            event = event.detail("search", read.criteria.to_vec());
        }
        work.record(event).await?;
    }
    work.commit().await
}

async fn find_open(state: &AppState, id: AccountId) -> AppResult<Option<accounts::Model>> {
    Ok(db::accounts::find(&state.db, id)
        .await?
        .filter(|account| account.deleted_at.is_none()))
}

/// Accounts that match `search` in creation order: `first` after the account `after` (the id
/// of the last one of the previous page).
pub async fn list(
    state: &AppState,
    search: &Search<'_>,
    first: i32,
    after: Option<AccountId>,
    read: AdminRead<'_>,
) -> AppResult<Vec<AccountInfo>> {
    if !(1..=100).contains(&first) {
        return Err(AppError::bad_input("first", "must be between 1 and 100"));
    }
    let limit = u64::try_from(first).unwrap_or(1);
    let page = db::accounts::search(&state.db, search, after, limit).await?;
    let ids: Vec<AccountId> = page.iter().map(|account| AccountId(account.id)).collect();
    record_views(state, &read, &ids).await?;
    let mut accounts = Vec::with_capacity(page.len());
    for account in &page {
        accounts.push(AccountInfo::open(state, account).await?);
    }
    Ok(accounts)
}

/// An update of names and profile, as typed.
pub struct ProfileUpdate {
    pub first_name: Change<String>,
    pub last_name: Change<String>,
    pub profile: ProfileEdit,
}

fn name(change: Change<String>, current: &str, field: &str) -> AppResult<PersonName> {
    match change {
        Change::Keep => PersonName::parse(current, field),
        Change::Clear => Err(AppError::bad_input(field, "cannot be removed")),
        Change::Set(value) => PersonName::parse(&value, field),
    }
}

/// `updateProfile`: validates everything first, then writes in one transaction. Changing the
/// legal name, date of birth, SSN or address of an approved account sends it back to review.
pub async fn update_profile(
    state: &AppState,
    principal: &Principal,
    update: ProfileUpdate,
    client: &ClientInfo,
) -> AppResult<AccountInfo> {
    let id = principal.account;
    // Each attempt to set an SSN counts, valid or not: a conflict must not be an oracle.
    if matches!(update.profile.ssn, Change::Set(_)) {
        Limit::ssn_change().spend(state, client, Some(id)).await?;
    }
    let account = signed_in_account(state, principal.account).await?;
    let first_name = name(update.first_name, &account.first_name, "firstName")?;
    let last_name = name(update.last_name, &account.last_name, "lastName")?;
    data_keys::ensure_readable(state, &[account.date_of_birth.as_deref()]).await?;
    let resolved = profile::resolve(
        id,
        &StoredProfile::of(&account),
        update.profile,
        &profile::rules(state),
    )?;
    let mut fields = resolved.changed_fields;
    if first_name.as_str() != account.first_name {
        fields.push("firstName");
    }
    if last_name.as_str() != account.last_name {
        fields.push("lastName");
    }
    if fields.is_empty() {
        return AccountInfo::open(state, &account).await;
    }
    // The legal identity is what a takeover would change to pass KYC as someone else.
    if fields
        .iter()
        .any(|field| matches!(*field, "ssn" | "dateOfBirth" | "firstName" | "lastName"))
    {
        super::sessions::require_recent_authentication(state, principal).await?;
    }
    let identity_changed = resolved.identity_changed
        || fields
            .iter()
            .any(|field| matches!(*field, "firstName" | "lastName"));
    let now = state.clock.now();
    let mut work = Work::begin(state).await?;
    let written = db::accounts::update_profile(
        &work,
        id,
        ProfileWrite {
            read_at: account.updated_at,
            first_name: &first_name,
            last_name: &last_name,
            profile: resolved.stored,
            reviewed_fields_changed: identity_changed,
            now,
        },
    )
    .await;
    match written {
        Ok(true) => {}
        Ok(false) => {
            return Err(AppError::Conflict {
                field: "input".into(),
                message: "the profile changed meanwhile; reload and try again".into(),
            });
        }
        Err(err) if db::is_unique_violation_of(&err, "ssn_index") => {
            drop(work);
            let taken = profile::ssn_taken();
            return Err(profile::record_if_ssn_taken(state, Some(principal), client, taken).await);
        }
        Err(err) => return Err(err.into()),
    }
    let event = Event::new(Kind::ProfileChanged)
        .by(id)
        .session(principal.session)
        .client(client)
        .detail("fields", fields);
    work.record(event).await?;
    // Decided inside the transaction, not from the status read before it: a decision that
    // committed meanwhile is reopened too. A pending review stays pending, but what it
    // reviews has a new version, so a decision on the old one is refused.
    let mut reopened = None;
    if identity_changed {
        for decided in [KycStatus::Approved, KycStatus::Rejected] {
            let moved = db::accounts::set_kyc_status(
                &work,
                id,
                decided,
                KycStatus::Pending,
                None,
                None,
                now,
            )
            .await?;
            if moved {
                reopened = Some(decided);
                break;
            }
        }
    }
    if let Some(from) = reopened {
        let review = db::kyc_reviews::insert(
            work.txn(),
            NewReview {
                account: id,
                actor: None,
                from,
                to: KycStatus::Pending,
                reason: None,
                now,
            },
        )
        .await?;
        let event = Event::new(Kind::KycChanged)
            .subject(id)
            .client(client)
            .detail("from", from.as_str())
            .detail("to", KycStatus::Pending.as_str())
            .detail("review", review.to_string())
            .detail("cause", "profile_changed");
        work.record(event).await?;
    }
    let updated = db::accounts::find(work.txn(), id)
        .await?
        .ok_or(AppError::TokenRejected(TokenRejection::SessionEnded))?;
    if reopened.is_some() {
        work.mail(
            &updated,
            Mail::KycDecision {
                status: KycStatus::Pending.as_str(),
                reason: None,
            },
        );
    }
    work.commit().await?;
    AccountInfo::open(state, &updated).await
}

const MAX_REASON_CHARS: usize = 500;

/// A reviewer's decision, and the version of the profile it was made on.
pub struct KycDecision<'a> {
    pub status: KycStatus,
    pub reason: Option<&'a str>,
    /// `Account.profileVersion` as the reviewer read it.
    pub profile_version: i32,
}

/// `setKycStatus`: a reviewer's decision on the profile version they reviewed, with its reason
/// kept beside the account (not in the audit trail, which refers to it). Reviewers cannot
/// decide on their own account.
pub async fn set_kyc_status(
    state: &AppState,
    reviewer: &Principal,
    id: AccountId,
    decision: KycDecision<'_>,
    client: &ClientInfo,
) -> AppResult<AccountInfo> {
    let KycDecision {
        status,
        reason,
        profile_version,
    } = decision;
    let reason = reason.map(str::trim).filter(|reason| !reason.is_empty());
    if let Some(reason) = reason
        && (reason.chars().count() > MAX_REASON_CHARS
            || reason.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(AppError::bad_input(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters of text"),
        ));
    }
    if status == KycStatus::Rejected && reason.is_none() {
        // The person needs to know what to fix.
        return Err(AppError::bad_input("reason", "is required when rejecting"));
    }
    if id == reviewer.account {
        return Err(AppError::Forbidden(Denial::OwnAccount));
    }
    let account = find_open(state, id).await?.ok_or(AppError::NotFound)?;
    let from = account.kyc_status;
    if !from.may_become(status) {
        return Err(AppError::bad_input(
            "status",
            format!("cannot move from {} to {}", from.as_str(), status.as_str()),
        ));
    }
    let profile_moved = || AppError::Conflict {
        field: "profileVersion".into(),
        message: "the profile changed since it was read; review it again".into(),
    };
    if account.profile_version != profile_version {
        return Err(profile_moved());
    }
    let now = state.clock.now();
    let mut work = Work::begin(state).await?;
    let decided =
        db::accounts::set_kyc_status(&work, id, from, status, reason, Some(profile_version), now)
            .await?;
    if !decided {
        let current = db::accounts::find(work.txn(), id).await?;
        return Err(match current {
            Some(current) if current.profile_version != profile_version => profile_moved(),
            _ => AppError::Conflict {
                field: "status".into(),
                message: "the status changed meanwhile; reload and decide again".into(),
            },
        });
    }
    let review = db::kyc_reviews::insert(
        work.txn(),
        NewReview {
            account: id,
            actor: Some(reviewer.account),
            from,
            to: status,
            reason,
            now,
        },
    )
    .await?;
    let event = Event::new(Kind::KycChanged)
        .actor(reviewer.account)
        .subject(id)
        .session(reviewer.session)
        .client(client)
        .detail("from", from.as_str())
        .detail("to", status.as_str())
        .detail("review", review.to_string())
        .detail("cause", "review");
    work.record(event).await?;
    let updated = db::accounts::find(work.txn(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    work.mail(
        &updated,
        Mail::KycDecision {
            status: status.as_str(),
            reason: reason.map(str::to_owned),
        },
    );
    work.commit().await?;
    AccountInfo::open(state, &updated).await
}

/// `revealSsn`: an administrator reads a person's full SSN (to verify it against documents),
/// after re-authenticating and saying why. The reason is kept beside the `ssn.revealed` event,
/// which the person sees in their own trail.
pub async fn reveal_ssn(
    state: &AppState,
    reviewer: &Principal,
    id: AccountId,
    reason: &Reason,
    client: &ClientInfo,
) -> AppResult<String> {
    super::sessions::require_recent_authentication(state, reviewer).await?;
    Limit::ssn_reveal()
        .spend(state, client, Some(reviewer.account))
        .await?;
    let account = find_open(state, id).await?.ok_or(AppError::NotFound)?;
    data_keys::ensure_readable(state, &[account.ssn.as_deref()]).await?;
    let ssn = profile::ssn(&state.keys, id, account.ssn.as_deref())?.ok_or(AppError::NotFound)?;
    let work = Work::begin(state).await?;
    let reveal = db::ssn_reveals::insert(
        work.txn(),
        id,
        reviewer.account,
        reason.as_str(),
        work.now(),
    )
    .await?;
    let event = Event::new(Kind::SsnRevealed)
        .actor(reviewer.account)
        .subject(id)
        .session(reviewer.session)
        .client(client)
        .detail("reveal", reveal.to_string());
    work.record(event).await?;
    work.commit().await?;
    Ok(ssn)
}

/// More security events than any person accumulates; a bound, not a page.
const EXPORT_EVENTS: u64 = 1 << 40;

/// Everything held about a person, for `exportMyData`.
pub struct Export {
    pub exported_at: DateTime<Utc>,
    /// The caller's session, to mark as current.
    pub current_session: SessionId,
    pub account: AccountInfo,
    /// Every session, ended ones too, with why they ended.
    pub sessions: Vec<sessions::Model>,
    pub kyc_reviews: Vec<kyc_reviews::Model>,
    /// Every security event about the person, without other people's details.
    pub events: Vec<audit_events::Model>,
}

/// `exportMyData`: everything held about the caller — the account (SSN masked), every
/// session, every KYC decision and every security event about them.
pub async fn export(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> AppResult<Export> {
    let id = principal.account;
    let account = signed_in_account(state, id).await?;
    let sessions = db::sessions::all_of(&state.db, id).await?;
    let kyc_reviews = db::kyc_reviews::of_account(&state.db, id).await?;
    let filter = Filter {
        subject: Some(id.0),
        ..Filter::default()
    };
    audit::seal_before_reading(state).await;
    let events = db::audit_events::search(&state.db, &filter, EXPORT_EVENTS).await?;
    let event = Event::new(Kind::AccountExported)
        .by(id)
        .session(principal.session)
        .client(client);
    audit::record_alone(state, event).await?;
    Ok(Export {
        exported_at: state.clock.now(),
        current_session: principal.session,
        account: AccountInfo::open(state, &account).await?,
        sessions,
        kyc_reviews,
        events: events
            .into_iter()
            .map(|event| audit::without_others(event, id))
            .collect(),
    })
}

/// `deleteAccount`: with the person's own password, ends every session and erases every
/// personal value in one transaction. The row stays, emptied, so its id keeps anchoring the
/// audit trail and can never be mistaken for a new account.
pub async fn delete(
    state: &AppState,
    principal: &Principal,
    password: &PasswordAttempt,
    client: &ClientInfo,
) -> AppResult<()> {
    let id = principal.account;
    let account = signed_in_account(state, id).await?;
    if !state
        .passwords
        .matches(password, &account.password_hash)
        .await?
    {
        let event = Event::new(Kind::AccountDeleteFailed)
            .by(id)
            .session(principal.session)
            .client(client);
        audit::record_alone(state, event).await?;
        return Err(AppError::bad_input("password", "is not correct"));
    }
    let now = state.clock.now();
    let mut work = Work::begin(state).await?;
    if !db::accounts::erase(&work, id, now).await? {
        return Err(AppError::TokenRejected(TokenRejection::SessionEnded));
    }
    db::sessions::revoke_all_except(work.txn(), id, None, RevokeReason::AccountDeleted, now)
        .await?;
    work.sessions_changed(SessionChange::Account(id)).await?;
    db::sessions::erase_client_details(work.txn(), id).await?;
    db::audit_events::erase_client_data_of(work.txn(), id.0).await?;
    db::mfa::delete_recovery_codes(work.txn(), id).await?;
    db::passkeys::delete_all(work.txn(), id).await?;
    db::account_tokens::void_all(work.txn(), id, Purpose::PasswordReset, now).await?;
    db::account_tokens::void_all(work.txn(), id, Purpose::EmailVerification, now).await?;
    db::email_changes::erase(work.txn(), id, now).await?;
    db::kyc_reviews::erase_reasons(work.txn(), id).await?;
    db::ssn_reveals::erase_reasons(work.txn(), id).await?;
    db::account_actions::erase_reasons(work.txn(), id).await?;
    db::mfa_reset_requests::erase_for_closure(work.txn(), id, now).await?;
    rotate_security_stamp(&work, id).await?;
    let event = Event::new(Kind::AccountDeleted)
        .by(id)
        .session(principal.session)
        .request(client);
    work.record(event).await?;
    // Sent to the address just erased, from the copy read before.
    work.mail(&account, Mail::AccountClosed);
    work.commit().await
}
