//! Queries on `accounts`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::entities::accounts::{ActiveModel, Column, Entity, Model};
use crate::domain::{AccountId, AccountStatus, Email, KycStatus, PersonName, Role};

/// A transaction that writes what the API shows of an account. Every function here that
/// changes such a column (the profile, the email, KYC, MFA, the role, the status,
/// `updated_at`) writes through one and says which account it changed, so that what an
/// instance remembers of the row (`cache::accounts`) is forgotten once the write commits.
/// Functions that change only what is never shown (the security stamp, row locks, the passkey
/// user handle, ciphertexts re-sealed under another key) take any connection.
pub trait AccountWrites {
    fn txn(&self) -> &DatabaseTransaction;
    /// Notes that the row of `id` changes in this transaction.
    fn account_changed(&self, id: AccountId);
}

/// Profile columns as stored: normalised text, and ciphertexts for the sensitive ones.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoredProfile {
    pub phone: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub default_currency: Option<String>,
    pub date_of_birth: Option<String>,
    pub ssn: Option<String>,
    pub ssn_index: Option<String>,
    pub ssn_last4: Option<String>,
}

impl StoredProfile {
    /// The profile columns of a stored account.
    pub fn of(account: &Model) -> Self {
        Self {
            phone: account.phone.clone(),
            address: account.address.clone(),
            city: account.city.clone(),
            state: account.state.clone(),
            postal_code: account.postal_code.clone(),
            country: account.country.clone(),
            default_currency: account.default_currency.clone(),
            date_of_birth: account.date_of_birth.clone(),
            ssn: account.ssn.clone(),
            ssn_index: account.ssn_index.clone(),
            ssn_last4: account.ssn_last4.clone(),
        }
    }
}

/// A profile update: the names and profile columns, written only if the row is still as it
/// was read at `read_at`.
pub struct ProfileWrite<'a> {
    pub read_at: DateTime<Utc>,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
    pub profile: StoredProfile,
    /// A field KYC reviews changed: the profile version moves.
    pub reviewed_fields_changed: bool,
    pub now: DateTime<Utc>,
}

/// What a new account is made of.
pub struct NewAccount<'a> {
    pub id: AccountId,
    pub email: &'a Email,
    pub password_hash: String,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
    pub role: Role,
    pub email_verified: bool,
    pub profile: StoredProfile,
    pub security_stamp: String,
    pub now: DateTime<Utc>,
}

/// Inserts an account; a taken email surfaces as a unique violation (`db::is_unique_violation`).
pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewAccount<'_>,
) -> Result<Model, sea_orm::DbErr> {
    let model = ActiveModel {
        id: Set(new.id.0),
        email: Set(new.email.as_str().to_owned()),
        password_hash: Set(new.password_hash),
        first_name: Set(new.first_name.as_str().to_owned()),
        last_name: Set(new.last_name.as_str().to_owned()),
        role: Set(new.role),
        email_verified: Set(new.email_verified),
        kyc_status: Set(KycStatus::Pending),
        mfa_enabled: Set(false),
        created_at: Set(new.now),
        updated_at: Set(new.now),
        kyc_reason: Set(None),
        deleted_at: Set(None),
        mfa_secret: Set(None),
        mfa_pending_secret: Set(None),
        mfa_last_step: Set(None),
        security_stamp: Set(new.security_stamp),
        ..profile_columns(new.profile)
    };
    Entity::insert(model).exec_with_returning(db).await
}

/// Whether any account exists (of any state): a database with none holds no personal data.
pub async fn any(db: &impl ConnectionTrait) -> Result<bool, sea_orm::DbErr> {
    Ok(Entity::find().one(db).await?.is_some())
}

/// The columns that hold ciphertexts.
#[derive(Debug, Clone, Copy)]
pub enum SealedColumn {
    DateOfBirth,
    Ssn,
    MfaSecret,
    MfaPendingSecret,
}

impl SealedColumn {
    pub const ALL: [Self; 4] = [
        Self::DateOfBirth,
        Self::Ssn,
        Self::MfaSecret,
        Self::MfaPendingSecret,
    ];

    /// The associated data a ciphertext in this column of `account`'s row is bound to, so a
    /// ciphertext copied to another row or column does not open. The pending and the active
    /// TOTP secret share one: activation moves the ciphertext.
    pub fn context(self, account: AccountId) -> String {
        let field = match self {
            Self::DateOfBirth => "date_of_birth",
            Self::Ssn => "ssn",
            Self::MfaSecret | Self::MfaPendingSecret => "mfa_secret",
        };
        format!("account:{}:{field}", account.0)
    }

    fn column(self) -> Column {
        match self {
            Self::DateOfBirth => Column::DateOfBirth,
            Self::Ssn => Column::Ssn,
            Self::MfaSecret => Column::MfaSecret,
            Self::MfaPendingSecret => Column::MfaPendingSecret,
        }
    }
}

/// One account's ciphertexts, in [`SealedColumn::ALL`] order.
pub struct SealedRow {
    pub id: AccountId,
    pub sealed: [Option<String>; 4],
}

/// The ciphertexts of up to `limit` accounts whose id follows `after`, in id order.
pub async fn sealed_page(
    db: &impl ConnectionTrait,
    after: Option<AccountId>,
    limit: u64,
) -> Result<Vec<SealedRow>, sea_orm::DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    type Row = (
        uuid::Uuid,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let mut query = Entity::find()
        .select_only()
        .column(Column::Id)
        .columns(SealedColumn::ALL.map(SealedColumn::column))
        .order_by_asc(Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after.0));
    }
    let rows: Vec<Row> = query.into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(id, dob, ssn, mfa, pending)| SealedRow {
            id: AccountId(id),
            sealed: [dob, ssn, mfa, pending],
        })
        .collect())
}

/// Replaces a ciphertext if it is still `old`; `false` when a concurrent write changed it.
pub async fn reseal(
    db: &impl ConnectionTrait,
    id: AccountId,
    column: SealedColumn,
    old: &str,
    new: &str,
) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(column.column(), Expr::value(new))
        .filter(Column::Id.eq(id.0))
        .filter(column.column().eq(old))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

pub async fn find(
    db: &impl ConnectionTrait,
    id: AccountId,
) -> Result<Option<Model>, sea_orm::DbErr> {
    Entity::find_by_id(id.0).one(db).await
}

/// Replaces the stored hash only if it is still `old`: of two concurrent changes, one wins and
/// the other gets `false`.
pub async fn replace_password_hash(
    work: &impl AccountWrites,
    id: AccountId,
    old: &str,
    new: String,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let result = Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(new))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::PasswordHash.eq(old))
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Holds the account's row until the transaction ends, so what the transaction reads next
/// about the account (when a link was last sent) cannot change under it: concurrent requests
/// for one account take turns.
pub async fn lock(db: &impl ConnectionTrait, id: AccountId) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::Id, Expr::col(Column::Id))
        .filter(Column::Id.eq(id.0))
        .exec(db)
        .await
        .map(|_| ())
}

/// Gives the account a new security stamp.
pub async fn rotate_security_stamp(
    db: &impl ConnectionTrait,
    id: AccountId,
    stamp: String,
) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::SecurityStamp, Expr::value(stamp))
        .filter(Column::Id.eq(id.0))
        .exec(db)
        .await
        .map(|_| ())
}

/// Holds the account's row until the transaction ends if its stamp is still `stamp`, so a
/// concurrent credential change waits for this transaction and then sees what it wrote;
/// `false` when the stamp has changed.
pub async fn hold_if_stamp(
    db: &impl ConnectionTrait,
    id: AccountId,
    stamp: &str,
) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::SecurityStamp, Expr::col(Column::SecurityStamp))
        .filter(Column::Id.eq(id.0))
        .filter(Column::SecurityStamp.eq(stamp))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives the account `user_id` as the user handle of its passkeys, unless it has one; answers
/// the one it has now.
pub async fn assign_webauthn_user_id(
    db: &impl ConnectionTrait,
    id: AccountId,
    user_id: uuid::Uuid,
) -> Result<Option<uuid::Uuid>, sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::WebauthnUserId, Expr::value(user_id))
        .filter(Column::Id.eq(id.0))
        .filter(Column::WebauthnUserId.is_null())
        .exec(db)
        .await?;
    Ok(find(db, id)
        .await?
        .and_then(|account| account.webauthn_user_id))
}

/// Marks the email verified; `false` when it already was.
pub async fn mark_email_verified(
    work: &impl AccountWrites,
    id: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let result = Entity::update_many()
        .col_expr(Column::EmailVerified, Expr::value(true))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::EmailVerified.eq(false))
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives an open account the address `to`, confirmed. With `from`, only while the account
/// still has that address. `false` when the account is closed or its address moved meanwhile;
/// a `to` that another account holds surfaces as a unique violation.
pub async fn replace_email(
    work: &impl AccountWrites,
    id: AccountId,
    from: Option<&str>,
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let mut update = Entity::update_many()
        .col_expr(Column::Email, Expr::value(to))
        .col_expr(Column::EmailVerified, Expr::value(true))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::DeletedAt.is_null());
    if let Some(from) = from {
        update = update.filter(Column::Email.eq(from));
    }
    let result = update.exec(work.txn()).await?;
    Ok(result.rows_affected == 1)
}

fn profile_columns(profile: StoredProfile) -> ActiveModel {
    ActiveModel {
        phone: Set(profile.phone),
        address: Set(profile.address),
        city: Set(profile.city),
        state: Set(profile.state),
        postal_code: Set(profile.postal_code),
        country: Set(profile.country),
        default_currency: Set(profile.default_currency),
        date_of_birth: Set(profile.date_of_birth),
        ssn: Set(profile.ssn),
        ssn_index: Set(profile.ssn_index),
        ssn_last4: Set(profile.ssn_last4),
        ..Default::default()
    }
}

/// Writes the names and profile of an open account that has not changed since it was read
/// (`read_at` is the `updated_at` seen); `false` when it was closed or changed meanwhile. A
/// taken SSN surfaces as a unique violation.
pub async fn update_profile(
    work: &impl AccountWrites,
    id: AccountId,
    write: ProfileWrite<'_>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let ProfileWrite {
        read_at,
        first_name,
        last_name,
        profile,
        reviewed_fields_changed,
        now,
    } = write;
    let model = ActiveModel {
        first_name: Set(first_name.as_str().to_owned()),
        last_name: Set(last_name.as_str().to_owned()),
        updated_at: Set(now),
        ..profile_columns(profile)
    };
    let version = Expr::col(Column::ProfileVersion).add(i32::from(reviewed_fields_changed));
    let result = Entity::update_many()
        .set(model)
        .col_expr(Column::ProfileVersion, version)
        .filter(Column::Id.eq(id.0))
        .filter(Column::UpdatedAt.eq(read_at))
        .filter(Column::DeletedAt.is_null())
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Moves the KYC status from `from` to `to` if it is still `from` (and, for a reviewer's
/// decision, the profile is still the `reviewed` version); `false` when another change got
/// there first.
pub async fn set_kyc_status(
    work: &impl AccountWrites,
    id: AccountId,
    from: KycStatus,
    to: KycStatus,
    reason: Option<&str>,
    reviewed: Option<i32>,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let mut update = Entity::update_many()
        .col_expr(Column::KycStatus, Expr::value(to))
        .col_expr(Column::KycReason, Expr::value(reason.map(str::to_owned)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::KycStatus.eq(from))
        .filter(Column::DeletedAt.is_null());
    if let Some(version) = reviewed {
        update = update.filter(Column::ProfileVersion.eq(version));
    }
    let result = update.exec(work.txn()).await?;
    Ok(result.rows_affected == 1)
}

/// What administrators search accounts by; the parts given must all match.
#[derive(Default)]
pub struct Search<'a> {
    /// The address, canonical: an exact match that ignores case.
    pub email: Option<&'a Email>,
    /// A prefix of the family name, in any case (ASCII letters; others as typed).
    pub last_name_prefix: Option<&'a str>,
    pub ssn_last4: Option<&'a str>,
    pub kyc_status: Option<KycStatus>,
    /// Open accounts (active or suspended) when not given.
    pub status: Option<AccountStatus>,
}

/// `text` with the wildcards of `LIKE` escaped by `\`, lower case, followed by `%`.
fn prefix_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Accounts that match `search`, oldest first, after the cursor id.
pub async fn search(
    db: &impl ConnectionTrait,
    search: &Search<'_>,
    after: Option<AccountId>,
    limit: u64,
) -> Result<Vec<Model>, sea_orm::DbErr> {
    use sea_orm::{
        QueryOrder, QuerySelect,
        sea_query::{Func, LikeExpr},
    };
    let mut query = Entity::find();
    query = match search.status {
        None => query.filter(Column::DeletedAt.is_null()),
        Some(AccountStatus::Active) => query
            .filter(Column::DeletedAt.is_null())
            .filter(Column::SuspendedAt.is_null()),
        Some(AccountStatus::Suspended) => query
            .filter(Column::DeletedAt.is_null())
            .filter(Column::SuspendedAt.is_not_null()),
        Some(AccountStatus::Closed) => query.filter(Column::DeletedAt.is_not_null()),
    };
    if let Some(email) = search.email {
        query = query.filter(Column::Email.eq(email.as_str()));
    }
    if let Some(prefix) = search.last_name_prefix {
        let pattern = LikeExpr::new(prefix_pattern(prefix)).escape('\\');
        query = query.filter(Expr::expr(Func::lower(Expr::col(Column::LastName))).like(pattern));
    }
    if let Some(last4) = search.ssn_last4 {
        query = query.filter(Column::SsnLast4.eq(last4));
    }
    if let Some(status) = search.kyc_status {
        query = query.filter(Column::KycStatus.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after.0));
    }
    query.order_by_asc(Column::Id).limit(limit).all(db).await
}

/// Freezes an open account that is not frozen yet; `false` otherwise.
pub async fn suspend(
    work: &impl AccountWrites,
    id: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let result = Entity::update_many()
        .col_expr(Column::SuspendedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::DeletedAt.is_null())
        .filter(Column::SuspendedAt.is_null())
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Unfreezes a suspended open account; `false` when it was not suspended.
pub async fn reactivate(
    work: &impl AccountWrites,
    id: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let result = Entity::update_many()
        .col_expr(
            Column::SuspendedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::DeletedAt.is_null())
        .filter(Column::SuspendedAt.is_not_null())
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives an open account `to` if it still holds `from`; `false` otherwise.
pub async fn set_role(
    work: &impl AccountWrites,
    id: AccountId,
    from: Role,
    to: Role,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let result = Entity::update_many()
        .col_expr(Column::Role, Expr::value(to))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id.0))
        .filter(Column::DeletedAt.is_null())
        .filter(Column::Role.eq(from))
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}

/// Holds every administrator's row until the transaction ends, so changes that could leave
/// no administrator take turns (PostgreSQL; SQLite serialises writers already). Answers the
/// administrators who can act: open and not suspended.
pub async fn hold_administrators(
    db: &impl ConnectionTrait,
) -> Result<Vec<AccountId>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    type Row = (uuid::Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = Entity::find()
        .select_only()
        .columns([Column::Id, Column::DeletedAt, Column::SuspendedAt])
        .filter(Column::Role.eq(Role::Admin))
        .lock_exclusive()
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, closed, suspended)| closed.is_none() && suspended.is_none())
        .map(|(id, _, _)| AccountId(id))
        .collect())
}

/// Closes the account: every personal value erased, the login made impossible, the row kept
/// (its id anchors the audit trail) under an email that no address can ever equal.
pub async fn erase(
    work: &impl AccountWrites,
    id: AccountId,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    work.account_changed(id);
    let model = ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id.0),
        // No `@`: `Email::parse` refuses it, so no registration can ever take it.
        email: Set(format!("erased:{}", id.0)),
        // Not a PHC string: nothing verifies against it.
        password_hash: Set("!erased".into()),
        first_name: Set(String::new()),
        last_name: Set(String::new()),
        email_verified: Set(false),
        mfa_enabled: Set(false),
        mfa_secret: Set(None),
        mfa_pending_secret: Set(None),
        mfa_last_step: Set(None),
        kyc_reason: Set(None),
        updated_at: Set(now),
        deleted_at: Set(Some(now)),
        ..profile_columns(StoredProfile::default())
    };
    let result = Entity::update_many()
        .set(model)
        .filter(Column::Id.eq(id.0))
        .filter(Column::DeletedAt.is_null())
        .exec(work.txn())
        .await?;
    Ok(result.rows_affected == 1)
}
