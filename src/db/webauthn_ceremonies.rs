//! Queries on `webauthn_ceremonies`: the state of a WebAuthn ceremony between its two calls.
//! A ceremony is finished once: taking it is a conditional update on an unused, unexpired row,
//! so of concurrent finishes exactly one gets the state.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::webauthn_ceremonies::{ActiveModel, Column, Entity, Model};
use crate::domain::{AccountId, SessionId};

/// What a ceremony is for, and what it is tied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Adding a passkey, from this session.
    Registration(SessionId),
    /// Signing in with a passkey; nobody is known until it finishes.
    Login,
    /// The second step of a sign-in, for this MFA challenge.
    SecondFactor(Uuid),
}

impl Ceremony {
    fn kind(self) -> &'static str {
        match self {
            Self::Registration(_) => "registration",
            Self::Login => "login",
            Self::SecondFactor(_) => "second_factor",
        }
    }

    /// The rows of this ceremony's kind and tie.
    fn of_this(self) -> Condition {
        let kind = Condition::all().add(Column::Kind.eq(self.kind()));
        match self {
            Self::Registration(session) => kind.add(Column::SessionId.eq(session.0)),
            Self::Login => kind,
            Self::SecondFactor(challenge) => kind.add(Column::MfaChallengeId.eq(challenge)),
        }
    }
}

fn open_at(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::UsedAt.is_null())
        .add(Column::ExpiresAt.gt(now))
}

/// Stores a ceremony's state; answers its id.
pub async fn insert(
    db: &impl ConnectionTrait,
    ceremony: Ceremony,
    account: Option<AccountId>,
    state: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let (session, challenge) = match ceremony {
        Ceremony::Registration(session) => (Some(session.0), None),
        Ceremony::Login => (None, None),
        Ceremony::SecondFactor(challenge) => (None, Some(challenge)),
    };
    let id = Uuid::now_v7();
    let model = ActiveModel {
        id: Set(id),
        kind: Set(ceremony.kind().to_owned()),
        account_id: Set(account.map(|account| account.0)),
        session_id: Set(session),
        mfa_challenge_id: Set(challenge),
        state: Set(state),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    };
    Entity::insert(model).exec_without_returning(db).await?;
    Ok(id)
}

/// Ends every open ceremony of this kind and tie: a session registers one passkey at a time.
pub async fn void(
    db: &impl ConnectionTrait,
    ceremony: Ceremony,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(ceremony.of_this())
        .filter(open_at(now))
        .exec(db)
        .await
        .map(|_| ())
}

/// The newest open ceremony of this kind and tie, without taking it.
pub async fn find_open(
    db: &impl ConnectionTrait,
    ceremony: Ceremony,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(ceremony.of_this())
        .filter(open_at(now))
        .order_by_desc(Column::Id)
        .one(db)
        .await
}

/// Takes the open ceremony `id` of this kind; of concurrent takes exactly one gets it.
pub async fn take(
    db: &impl ConnectionTrait,
    ceremony: Ceremony,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Model>, DbErr> {
    let taken = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(ceremony.of_this())
        .filter(open_at(now))
        .exec_with_returning(db)
        .await?;
    Ok(taken.into_iter().next())
}
