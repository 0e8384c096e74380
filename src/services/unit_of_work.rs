//! One write, done one way: a transaction, the audit events recorded inside it (sealed into the
//! chain once it commits), and mail that leaves only once it has committed, so no email ever
//! announces a change that rolled back.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::{
    audit::{self, Event},
    outbox,
};
use crate::{
    cache::sessions::SessionChange,
    db::{self, accounts::AccountWrites, entities::accounts},
    domain::AccountId,
    error::AppResult,
    mail::Mail,
    state::AppState,
};

/// Mail waiting for the commit: the address, the name to greet, the message.
struct Outgoing {
    to: String,
    name: String,
    mail: Mail,
}

/// A write in progress. Dropped without [`Work::commit`], it rolls back and sends nothing.
pub struct Work<'a> {
    state: &'a AppState,
    txn: DatabaseTransaction,
    now: DateTime<Utc>,
    outgoing: Vec<Outgoing>,
    /// Sessions this work ended or changed: forgotten by this instance's cache on commit.
    changed_sessions: Vec<SessionChange>,
    /// Accounts whose rows this work changed: forgotten by this instance's cache on commit
    /// (other instances hear it from the database).
    changed_accounts: Mutex<Vec<AccountId>>,
}

impl<'a> Work<'a> {
    pub async fn begin(state: &'a AppState) -> AppResult<Self> {
        Ok(Self {
            state,
            txn: db::begin_write(&state.db).await?,
            now: state.clock.now(),
            outgoing: Vec::new(),
            changed_sessions: Vec::new(),
            changed_accounts: Mutex::default(),
        })
    }

    /// The transaction, for storage calls.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// When the work started: the one time its rows and events carry.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Appends `event` to the audit trail, committing or rolling back with the change.
    pub async fn record(&self, event: Event) -> AppResult<()> {
        audit::record(&self.txn, &self.state.keys, self.now, event).await
    }

    /// Mails `account` once the work commits, addressed by name.
    pub fn mail(&mut self, account: &accounts::Model, mail: Mail) {
        self.mail_to(&account.email, account, mail);
    }

    /// Mails `to` once the work commits, addressed by the name of `account`: for an address
    /// the account is moving to or away from, which is not (or no longer) its own.
    pub fn mail_to(&mut self, to: &str, account: &accounts::Model, mail: Mail) {
        self.outgoing.push(Outgoing {
            to: to.to_owned(),
            name: format!("{} {}", account.first_name, account.last_name),
            mail,
        });
    }

    /// Says that this work ends or changes sessions: every instance stops trusting what it
    /// knew of them once the work commits (this one at once, the others when told).
    pub async fn sessions_changed(&mut self, change: SessionChange) -> AppResult<()> {
        db::session_changes::announce(&self.txn, &change.encode()).await?;
        self.changed_sessions.push(change);
        Ok(())
    }

    /// Writes the mail to the outbox inside the transaction, commits, then wakes the mail
    /// worker and the audit sealer: the change, its events and its emails are kept together or
    /// not at all.
    pub async fn commit(self) -> AppResult<()> {
        for outgoing in &self.outgoing {
            outbox::enqueue(
                self.state,
                &self.txn,
                &outgoing.to,
                &outgoing.name,
                &outgoing.mail,
                self.now,
            )
            .await?;
        }
        let committed = self.txn.commit().await;
        // Forgotten even when the commit's outcome is unknown: forgetting is always safe.
        for change in self.changed_sessions {
            super::session_changes::forget(self.state, change);
        }
        let changed_accounts = self
            .changed_accounts
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        for account in changed_accounts {
            self.state.accounts.forget(&account);
        }
        committed?;
        self.state.seal_wanted.notify_one();
        if !self.outgoing.is_empty() {
            self.state.mailer.wake();
        }
        Ok(())
    }

    /// Rolls back and waits until the database has: for a caller that writes again at once
    /// (on SQLite, a dropped transaction may hold the write lock a moment longer).
    pub async fn roll_back(self) -> AppResult<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}

impl AccountWrites for Work<'_> {
    fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    fn account_changed(&self, id: AccountId) {
        self.changed_accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(id);
    }
}
