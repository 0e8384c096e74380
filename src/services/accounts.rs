//! Reading accounts.

use crate::{
    db::{self, entities::accounts},
    domain::AccountId,
    error::{AppError, AppResult},
    state::AppState,
};

/// The account of a signed-in caller. Its absence means it was erased mid-session.
pub async fn get(state: &AppState, id: AccountId) -> AppResult<accounts::Model> {
    db::accounts::find(&state.db, id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Any account, for administrators.
pub async fn find(state: &AppState, id: AccountId) -> AppResult<Option<accounts::Model>> {
    Ok(db::accounts::find(&state.db, id).await?)
}
