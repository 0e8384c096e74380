//! The audit trail: who did what to which account, when, from where, and whether it worked.
//!
//! Events are appended inside the transaction of the change they record, so there is no change
//! without its record and no record of a change that did not happen. They are appended pending,
//! with a keyed MAC, and sealed into a keyed hash chain (see [`chain`]) shortly after they
//! commit (see [`sealer`]), so appends never queue behind one another. Details hold categories
//! and field names, never secrets or personal data.

mod chain;
pub mod checkpoint;
mod keying;
mod kind;
pub mod sealer;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value};
use uuid::Uuid;

pub use chain::{Anchor, ChainBreak, ChainReport, verify};
pub use keying::key_legacy_trail;
pub use kind::{Kind, Outcome};
pub use sealer::{Sealed, seal, seal_now};

use super::{ClientInfo, Principal};
use crate::{
    crypto::envelope::DataKeys,
    db::{self, audit_events::Filter, entities::audit_events},
    domain::{AccountId, SessionId},
    error::{AppError, AppResult},
    state::AppState,
};

/// One event, built where it happens and written by [`record`].
#[derive(Debug, Clone)]
pub struct Event {
    kind: Kind,
    actor: Option<AccountId>,
    subject: Option<AccountId>,
    session: Option<SessionId>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: Map<String, Value>,
}

impl Event {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            actor: None,
            subject: None,
            session: None,
            ip_address: None,
            user_agent: None,
            request_id: None,
            details: Map::new(),
        }
    }

    /// The person acted on their own account.
    pub fn by(self, account: AccountId) -> Self {
        self.actor(account).subject(account)
    }

    /// The signed-in caller acted on their own account, in their current session.
    pub fn by_principal(self, principal: &Principal) -> Self {
        self.by(principal.account).session(principal.session)
    }

    /// Who acted, when it is not (only) the subject: an administrator.
    pub fn actor(mut self, account: AccountId) -> Self {
        self.actor = Some(account);
        self
    }

    /// The account the event is about.
    pub fn subject(mut self, account: AccountId) -> Self {
        self.subject = Some(account);
        self
    }

    pub fn session(mut self, session: SessionId) -> Self {
        self.session = Some(session);
        self
    }

    /// Where the request came from and its id.
    pub fn client(mut self, client: &ClientInfo) -> Self {
        self.ip_address = client.ip.map(|ip| ip.to_string());
        self.user_agent.clone_from(&client.user_agent);
        self.request_id.clone_from(&client.request_id);
        self
    }

    /// Only the request's id: for the record of a closure, which must not keep where the
    /// person was.
    pub fn request(mut self, client: &ClientInfo) -> Self {
        self.request_id.clone_from(&client.request_id);
        self
    }

    /// A category or a count: keys and values are chosen by the code, never copied from
    /// what a person typed.
    pub fn detail(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// Appends `event` to the trail inside `txn`, pending: it commits or rolls back with the
/// change, and a sealer chains it once committed. Takes no lock beyond its own row, so
/// concurrent appends do not wait for each other.
pub async fn record(
    txn: &DatabaseTransaction,
    keys: &DataKeys,
    at: DateTime<Utc>,
    event: Event,
) -> AppResult<()> {
    db::audit_events::insert(txn, pending(keys, at, event)).await?;
    Ok(())
}

/// The row that appends `event` at `at`, pending, with its MAC: for [`record`], and for a
/// statement that writes the change and its event at once.
pub fn pending(keys: &DataKeys, at: DateTime<Utc>, event: Event) -> audit_events::Model {
    let id = Uuid::now_v7();
    let client_commitment = chain::client_commitment(
        keys,
        id,
        event.ip_address.as_deref(),
        event.user_agent.as_deref(),
    );
    let mut row = audit_events::Model {
        id,
        seq: None,
        // What PostgreSQL keeps, so the hash is computed over what will be read back.
        at: at.trunc_subsecs(6),
        kind: event.kind.as_str().to_owned(),
        outcome: event.kind.outcome().as_str().to_owned(),
        actor_id: event.actor.map(|id| id.0),
        subject_id: event.subject.map(|id| id.0),
        session_id: event.session.map(|id| id.0),
        ip_address: event.ip_address,
        user_agent: event.user_agent,
        request_id: event.request_id,
        details: Value::Object(event.details).to_string(),
        prev_hash: None,
        hash: None,
        client_commitment,
        event_mac: None,
    };
    row.event_mac = Some(chain::event_mac(keys, &row));
    row
}

/// Records an event that changes nothing else (a failed login, a refused request) in a
/// transaction of its own.
pub async fn record_alone(state: &AppState, event: Event) -> AppResult<()> {
    // Boxed: refusals and failures record on paths otherwise small, and a transaction's
    // future held inline would size every future that might take one of them (a sign-in
    // waiting for its hash, say) for its whole life.
    Box::pin(async {
        let txn = db::begin_write(&state.db).await?;
        record(&txn, &state.keys, state.clock.now(), event).await?;
        txn.commit().await?;
        state.seal_wanted.notify_one();
        Ok(())
    })
    .await
}

/// How long a reader waits for the pending events to be sealed before it lists what is sealed.
const SEAL_BEFORE_READING: std::time::Duration = std::time::Duration::from_secs(2);

/// Seals what is pending before the trail is read, so a reader lists every event that
/// committed before it. A trail that cannot be sealed now (its head does not verify, or the
/// head is held too long) is still listed, up to its last sealed event; the background sealer
/// logs why.
pub async fn seal_before_reading(state: &AppState) {
    match tokio::time::timeout(SEAL_BEFORE_READING, seal_now(state)).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => tracing::debug!(
            error = format!("{err:#}"),
            "listing the audit trail unsealed"
        ),
        Err(_) => tracing::warn!("listing the audit trail without waiting longer for sealing"),
    }
}

/// How many events one page holds unless asked otherwise, and at most.
pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

/// A page of events, newest first: `first` of them after the event `after` (the id of the
/// last event of the previous page).
pub struct Page<'a> {
    pub first: i32,
    pub after: Option<&'a str>,
}

/// What an administrator searches by.
#[derive(Default)]
pub struct Search<'a> {
    pub account: Option<AccountId>,
    pub kind: Option<&'a str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The person's own events: those about their account. Where someone else acted (a
/// reviewer), who and from where is theirs, not the person's, and is left out.
pub async fn own_events(
    state: &AppState,
    account: AccountId,
    page: Page<'_>,
) -> AppResult<Vec<audit_events::Model>> {
    check_page(page.first)?;
    seal_before_reading(state).await;
    let filter = Filter {
        subject: Some(account.0),
        before_seq: match page.after {
            Some(cursor) => Some(cursor_position(state, Visible::About(account), cursor).await?),
            None => None,
        },
        ..Filter::default()
    };
    let limit = u64::try_from(page.first).unwrap_or(1);
    let events = db::audit_events::search(&state.db, &filter, limit).await?;
    Ok(events
        .into_iter()
        .map(|event| without_others(event, account))
        .collect())
}

/// Blanks who acted and from where when that was not the person themself.
pub fn without_others(mut event: audit_events::Model, account: AccountId) -> audit_events::Model {
    if event.actor_id.is_some_and(|actor| actor != account.0) {
        event.actor_id = None;
        event.ip_address = None;
        event.user_agent = None;
        event.session_id = None;
        event.request_id = None;
    }
    event
}

fn check_page(first: i32) -> AppResult<()> {
    if (1..=MAX_PAGE).contains(&first) {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "first",
            format!("must be between 1 and {MAX_PAGE}"),
        ))
    }
}

/// Any events, for administrators.
pub async fn search(
    state: &AppState,
    search: &Search<'_>,
    page: Page<'_>,
) -> AppResult<Vec<audit_events::Model>> {
    if let Some(kind) = search.kind
        && Kind::parse(kind).is_none()
    {
        return Err(AppError::bad_input(
            "filter.kind",
            "is not a known event kind",
        ));
    }
    if let (Some(from), Some(to)) = (search.from, search.to)
        && from > to
    {
        return Err(AppError::bad_input(
            "filter.to",
            "must not be before filter.from",
        ));
    }
    events(state, search, page).await
}

async fn events(
    state: &AppState,
    search: &Search<'_>,
    page: Page<'_>,
) -> AppResult<Vec<audit_events::Model>> {
    check_page(page.first)?;
    seal_before_reading(state).await;
    let visible = search.account.map_or(Visible::All, Visible::AboutOrBy);
    let before_seq = match page.after {
        Some(cursor) => Some(cursor_position(state, visible, cursor).await?),
        None => None,
    };
    let filter = Filter {
        account: search.account.map(|id| id.0),
        subject: None,
        kind: search.kind,
        from: search.from,
        to: search.to,
        before_seq,
    };
    let limit = u64::try_from(page.first).unwrap_or(1);
    Ok(db::audit_events::search(&state.db, &filter, limit).await?)
}

/// Which events a page may start after: the ones it could have listed.
#[derive(Clone, Copy)]
enum Visible {
    /// Events about the account (a person's own trail).
    About(AccountId),
    /// Events about the account or done by it (an administrator's filter).
    AboutOrBy(AccountId),
    All,
}

/// The chain position of the cursor event. A cursor that is not an event the caller may see is
/// refused the same way as one that does not exist.
async fn cursor_position(state: &AppState, visible: Visible, cursor: &str) -> AppResult<i64> {
    let invalid = || AppError::bad_input("after", "is not a cursor from a previous page");
    let id = Uuid::parse_str(cursor).map_err(|_| invalid())?;
    let event = db::audit_events::find(&state.db, id)
        .await?
        .ok_or_else(invalid)?;
    let listed = match visible {
        Visible::About(account) => event.subject_id == Some(account.0),
        Visible::AboutOrBy(account) => {
            event.subject_id == Some(account.0) || event.actor_id == Some(account.0)
        }
        Visible::All => true,
    };
    match event.seq {
        Some(seq) if listed => Ok(seq),
        _ => Err(invalid()),
    }
}
