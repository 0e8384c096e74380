use async_graphql::{Context, Guard};

use super::{context::ContextExt, errors::IntoGraphql};
use crate::{domain::Role, error::AppError};

/// The field needs a signed-in caller with an active session.
pub struct SignedIn;

impl Guard for SignedIn {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        ctx.principal().await.map(|_| ())
    }
}

/// The field needs a signed-in caller of this role.
pub struct HasRole(pub Role);

impl Guard for HasRole {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let principal = ctx.principal().await?;
        if principal.role == self.0 {
            Ok(())
        } else {
            Err(AppError::Forbidden).graphql()
        }
    }
}
