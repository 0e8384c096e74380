//! The signed-in person's own security activity.

use super::context::Boxed;
use async_graphql::{Context, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{context::ContextExt, errors::IntoGraphql, guards::SignedIn, scalars::Timestamp};
use crate::{db::entities::audit_events::Model, services::audit};

/// One entry of the security audit trail: what happened, to whom, by whom and from where.
/// In a person's own `auditEvents`, who acted and from where are null when someone else (an
/// administrator) did.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(name = "AuditEvent")]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    /// The event's id, a UUIDv7; the `after` cursor of the next page.
    pub id: Uuid,
    /// When it happened.
    pub at: Timestamp,
    /// What happened, a dotted name such as `login.succeeded`, `login.failed` or
    /// `session.revoked`.
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// The client's IP address; null when unknown, or once erased (after the retention
    /// period, 90 days by default, or when the account is closed).
    pub ip_address: Option<String>,
    /// The client's `User-Agent`; null like `ipAddress`.
    pub user_agent: Option<String>,
    /// The account the event is about; null when none (an unknown address, an operator
    /// command).
    pub account_id: Option<Uuid>,
    /// Who acted: the account itself, an administrator, or null for nobody (the command line).
    pub actor_id: Option<Uuid>,
    /// The session the event happened in, if any.
    pub session_id: Option<Uuid>,
    /// The request's id, as its response's `x-request-id` header gave it; null outside a
    /// request.
    pub request_id: Option<String>,
    /// A JSON object of categories and counts that depend on `kind` (such as `reason`,
    /// `sessions_ended`); never personal data or secrets.
    pub details: async_graphql::Json<serde_json::Value>,
}

impl From<Model> for AuditEventView {
    fn from(model: Model) -> Self {
        let details = serde_json::from_str(&model.details).unwrap_or_default();
        Self {
            id: model.id,
            at: model.at.into(),
            kind: model.kind,
            outcome: model.outcome,
            ip_address: model.ip_address,
            user_agent: model.user_agent,
            account_id: model.subject_id,
            actor_id: model.actor_id,
            session_id: model.session_id,
            request_id: model.request_id,
            details: async_graphql::Json(details),
        }
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The signed-in account's own security activity (events about it), newest first. Signed
    /// in only.
    #[graphql(
        guard = "SignedIn",
        complexity = "(first.unwrap_or(20).clamp(1, 100) as usize).div_ceil(10) * child_complexity + 1"
    )]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many events to return, 1–100.")] first: Option<i32>,
        #[graphql(
            desc = "The `id` of the last event of the previous page; from the newest \
                          when left out. Anything else is `BAD_USER_INPUT` on `after`."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Vec<AuditEventView>> {
        let principal = ctx.principal().await?;
        let page = audit::Page {
            first: first.unwrap_or(audit::DEFAULT_PAGE),
            after: after.as_deref(),
        };
        let events = audit::own_events(ctx.state(), principal.account, page)
            .boxed()
            .await
            .graphql()?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}
