//! Queries on `passkeys`: an account's WebAuthn credentials. A use moves the signature counter
//! forward by a conditional update, so of two uses with one counter value (a cloned
//! authenticator), at most one is accepted, whichever instance sees it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::passkeys::{ActiveModel, Column, Entity, Model};
use crate::domain::AccountId;

/// A credential just registered, in its stored form.
pub struct NewPasskey<'a> {
    pub account: AccountId,
    pub credential_id: &'a str,
    pub credential: String,
    pub name: &'a str,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub sign_count: i64,
    pub now: DateTime<Utc>,
}

/// Inserts the passkey; a credential id registered before is a unique violation.
pub async fn insert(db: &impl ConnectionTrait, new: NewPasskey<'_>) -> Result<Model, DbErr> {
    let model = ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(new.account.0),
        credential_id: Set(new.credential_id.to_owned()),
        credential: Set(new.credential),
        name: Set(new.name.to_owned()),
        created_at: Set(new.now),
        last_used_at: Set(None),
        backup_eligible: Set(new.backup_eligible),
        backed_up: Set(new.backed_up),
        sign_count: Set(new.sign_count),
    };
    Entity::insert(model).exec_with_returning(db).await
}

/// The account's passkeys, oldest first.
pub async fn list(db: &impl ConnectionTrait, account: AccountId) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account.0))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

pub async fn count(db: &impl ConnectionTrait, account: AccountId) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account.0))
        .count(db)
        .await
}

pub async fn find_by_credential_id(
    db: &impl ConnectionTrait,
    credential_id: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::CredentialId.eq(credential_id))
        .one(db)
        .await
}

/// A use of a passkey: the credential as it now is (counter and backup state).
pub struct Use {
    pub credential: String,
    pub backed_up: bool,
    pub backup_eligible: bool,
    pub sign_count: i64,
    pub now: DateTime<Utc>,
}

/// Records a use, if its counter moved forward from every use recorded before (or the
/// authenticator keeps no counter: 0 before and now). `false` means another use with this
/// counter value or a later one was recorded first: the credential was copied.
pub async fn record_use(db: &impl ConnectionTrait, id: Uuid, used: Use) -> Result<bool, DbErr> {
    let counter_moved = if used.sign_count == 0 {
        Condition::all().add(Column::SignCount.eq(0))
    } else {
        Condition::all().add(Column::SignCount.lt(used.sign_count))
    };
    let result = Entity::update_many()
        .col_expr(Column::Credential, Expr::value(used.credential))
        .col_expr(Column::BackedUp, Expr::value(used.backed_up))
        .col_expr(Column::BackupEligible, Expr::value(used.backup_eligible))
        .col_expr(Column::SignCount, Expr::value(used.sign_count))
        .col_expr(Column::LastUsedAt, Expr::value(used.now))
        .filter(Column::Id.eq(id))
        .filter(counter_moved)
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Deletes one of the account's passkeys; `false` when it has none of that id.
pub async fn delete(
    db: &impl ConnectionTrait,
    account: AccountId,
    id: Uuid,
) -> Result<bool, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::AccountId.eq(account.0))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Deletes every passkey of the account (closure).
pub async fn delete_all(db: &impl ConnectionTrait, account: AccountId) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::AccountId.eq(account.0))
        .exec(db)
        .await
        .map(|_| ())
}
