use async_graphql::{Context, Guard};

use super::{context::ContextExt, errors::IntoGraphql};
use crate::{
    domain::Role,
    error::{AppError, Denial},
    services::{
        self,
        audit::{self, Event, Kind},
        throttle::Limit,
    },
};

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
        let role = if principal.role == Role::Admin && self.0 == Role::Admin {
            Box::pin(services::current_role(ctx.state(), &principal))
                .await
                .graphql()?
        } else {
            principal.role
        };
        if role == self.0 {
            // Administrators hold everyone's data: in production their sessions must have
            // passed a second factor.
            if self.0 == Role::Admin
                && ctx.state().settings.sessions.admin_require_mfa
                && !principal.second_factor
            {
                return Err(AppError::MfaRequired).graphql();
            }
            return Ok(());
        }
        if ctx.request().first_denial() {
            let event = Event::new(Kind::AccessDenied)
                .by(principal.account)
                .session(principal.session)
                .client(ctx.request().client())
                .detail("operation", ctx.item.node.name.node.as_str());
            // The refusal stands whether or not it could be recorded.
            if let Err(err) = audit::record_alone(ctx.state(), event).await {
                err.log_if_internal();
            }
        }
        Err(AppError::Forbidden(Denial::RoleRequired)).graphql()
    }
}

impl Guard for Limit {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let account = if self.needs_account() {
            Some(ctx.principal().await?.account)
        } else {
            None
        };
        self.spend(ctx.state(), ctx.request().client(), account)
            .await
            .graphql()
    }
}
