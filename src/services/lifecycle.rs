//! What support does to someone's account: freeze and unfreeze it, sign it out everywhere,
//! change its role. Each is an administrator's act on another person, recorded with who did
//! it (and why, where a reason is asked), told to the person by email, and committed with the
//! sessions it ends.

use super::{
    ClientInfo, Principal,
    account_info::AccountInfo,
    audit::{Event, Kind},
    rotate_security_stamp,
    sessions::require_recent_authentication,
    unit_of_work::Work,
};
use crate::{
    cache::sessions::SessionChange,
    db::{
        self, account_actions::Action, account_tokens::Purpose,
        entities::accounts::Model as Account, sessions::RevokeReason,
    },
    domain::{AccountId, Reason, Role},
    error::{AppError, AppResult, Denial},
    mail::Mail,
    state::AppState,
};

/// The open account `id`, read inside `work`.
async fn open_account(work: &Work<'_>, id: AccountId) -> AppResult<Account> {
    db::accounts::find(work.txn(), id)
        .await?
        .filter(|account| account.deleted_at.is_none())
        .ok_or(AppError::NotFound)
}

/// After a change that could remove an administrator, made while holding them all (see
/// `db::accounts::hold_administrators`): at least one must still be able to act, and the
/// caller must be one of them. So two administrators removing each other at once cannot
/// leave none: the second to commit finds itself alone or removed.
async fn check_administrators_remain(
    work: &Work<'_>,
    actor: &Principal,
    field: &str,
) -> AppResult<()> {
    let administrators = db::accounts::hold_administrators(work.txn()).await?;
    if administrators.is_empty() {
        return Err(would_leave_no_administrator(field));
    }
    if !administrators.contains(&actor.account) {
        return Err(AppError::Forbidden(Denial::RoleRequired));
    }
    Ok(())
}

fn would_leave_no_administrator(field: &str) -> AppError {
    AppError::Conflict {
        field: field.into(),
        message: "that would leave no administrator who can act".into(),
    }
}

/// What an administrator did to `id` and why: the reason kept on file (beside the trail,
/// erasable with the account) and the start of the event that refers to it.
struct Act<'a> {
    admin: &'a Principal,
    id: AccountId,
    reason: &'a Reason,
    client: &'a ClientInfo,
}

impl Act<'_> {
    async fn record(&self, work: &Work<'_>, action: Action, kind: Kind) -> AppResult<Event> {
        let on_file = db::account_actions::insert(
            work.txn(),
            self.id,
            self.admin.account,
            action,
            self.reason.as_str(),
            work.now(),
        )
        .await?;
        Ok(Event::new(kind)
            .actor(self.admin.account)
            .subject(self.id)
            .session(self.admin.session)
            .client(self.client)
            .detail("action", on_file.to_string()))
    }
}

/// `suspendAccount`: freezes the account. Every session ends at once (on every instance),
/// anything in flight under the old security stamp (a sign-in's second step, a reset link) can
/// no longer finish, and sign-in, refresh and password reset are refused until it is
/// reactivated.
pub async fn suspend(
    state: &AppState,
    admin: &Principal,
    id: AccountId,
    reason: &Reason,
    client: &ClientInfo,
) -> AppResult<AccountInfo> {
    if id == admin.account {
        return Err(AppError::Forbidden(Denial::OwnAccount));
    }
    require_recent_authentication(state, admin).await?;
    let mut work = Work::begin(state).await?;
    let now = work.now();
    let account = open_account(&work, id).await?;
    if account.role == Role::Admin {
        db::accounts::hold_administrators(work.txn()).await?;
    }
    if !db::accounts::suspend(&work, id, now).await? {
        return Err(AppError::Conflict {
            field: "accountId".into(),
            message: "the account is already suspended".into(),
        });
    }
    if account.role == Role::Admin {
        check_administrators_remain(&work, admin, "accountId").await?;
    }
    let ended =
        db::sessions::revoke_all_except(work.txn(), id, None, RevokeReason::AccountSuspended, now)
            .await?;
    work.sessions_changed(SessionChange::Account(id)).await?;
    rotate_security_stamp(&work, id).await?;
    db::account_tokens::void_all(work.txn(), id, Purpose::PasswordReset, now).await?;
    db::email_changes::void_pending(work.txn(), id, now).await?;
    let act = Act {
        admin,
        id,
        reason,
        client,
    };
    let event = act
        .record(&work, Action::Suspend, Kind::AccountSuspended)
        .await?
        .detail("sessions_ended", ended);
    work.record(event).await?;
    let suspended = open_account(&work, id).await?;
    work.mail(&suspended, Mail::AccountSuspended);
    work.commit().await?;
    tracing::info!(account = %id, by = %admin.account, "account suspended");
    AccountInfo::open(state, &suspended).await
}

/// `reactivateAccount`: unfreezes a suspended account. Sessions ended by the suspension stay
/// ended: the person signs in again.
pub async fn reactivate(
    state: &AppState,
    admin: &Principal,
    id: AccountId,
    reason: &Reason,
    client: &ClientInfo,
) -> AppResult<AccountInfo> {
    require_recent_authentication(state, admin).await?;
    let mut work = Work::begin(state).await?;
    let now = work.now();
    open_account(&work, id).await?;
    if !db::accounts::reactivate(&work, id, now).await? {
        return Err(AppError::Conflict {
            field: "accountId".into(),
            message: "the account is not suspended".into(),
        });
    }
    let act = Act {
        admin,
        id,
        reason,
        client,
    };
    let event = act
        .record(&work, Action::Reactivate, Kind::AccountReactivated)
        .await?;
    work.record(event).await?;
    let reactivated = open_account(&work, id).await?;
    work.mail(&reactivated, Mail::AccountReactivated);
    work.commit().await?;
    tracing::info!(account = %id, by = %admin.account, "account reactivated");
    AccountInfo::open(state, &reactivated).await
}

/// `endSessionsOf`: signs the account out everywhere, for example when it shows signs of
/// compromise; answers how many sessions ended. The person is told when any did.
pub async fn end_sessions(
    state: &AppState,
    admin: &Principal,
    id: AccountId,
    reason: &Reason,
    client: &ClientInfo,
) -> AppResult<u64> {
    let mut work = Work::begin(state).await?;
    let now = work.now();
    let account = open_account(&work, id).await?;
    let ended = db::sessions::revoke_all_except(
        work.txn(),
        id,
        None,
        RevokeReason::EndedByAdministrator,
        now,
    )
    .await?;
    work.sessions_changed(SessionChange::Account(id)).await?;
    let act = Act {
        admin,
        id,
        reason,
        client,
    };
    let event = act
        .record(
            &work,
            Action::EndSessions,
            Kind::SessionsEndedByAdministrator,
        )
        .await?
        .detail("count", ended);
    work.record(event).await?;
    if ended > 0 && id != admin.account {
        work.mail(&account, Mail::SessionsEndedBySupport);
    }
    work.commit().await?;
    Ok(ended)
}

/// `setRole`: appoints or removes an administrator. Never one's own role, never the last
/// administrator who can act; the person's sessions end so the new role (carried in their
/// access tokens) takes effect at once.
pub async fn set_role(
    state: &AppState,
    admin: &Principal,
    id: AccountId,
    role: Role,
    client: &ClientInfo,
) -> AppResult<AccountInfo> {
    if id == admin.account {
        return Err(AppError::Forbidden(Denial::OwnAccount));
    }
    require_recent_authentication(state, admin).await?;
    let mut work = Work::begin(state).await?;
    let now = work.now();
    let account = open_account(&work, id).await?;
    let from = account.role;
    if from == role {
        return AccountInfo::open(state, &account).await;
    }
    db::accounts::hold_administrators(work.txn()).await?;
    if !db::accounts::set_role(&work, id, from, role, now).await? {
        return Err(AppError::Conflict {
            field: "role".into(),
            message: "the role changed meanwhile; reload and try again".into(),
        });
    }
    check_administrators_remain(&work, admin, "role").await?;
    let ended =
        db::sessions::revoke_all_except(work.txn(), id, None, RevokeReason::RoleChanged, now)
            .await?;
    work.sessions_changed(SessionChange::Account(id)).await?;
    let event = Event::new(Kind::RoleChanged)
        .actor(admin.account)
        .subject(id)
        .session(admin.session)
        .client(client)
        .detail("from", from.as_str())
        .detail("to", role.as_str())
        .detail("sessions_ended", ended);
    work.record(event).await?;
    let changed = open_account(&work, id).await?;
    work.mail(
        &changed,
        Mail::RoleChanged {
            role: role.as_str(),
        },
    );
    work.commit().await?;
    tracing::info!(account = %id, by = %admin.account, role = role.as_str(), "role changed");
    AccountInfo::open(state, &changed).await
}
