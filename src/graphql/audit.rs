//! The signed-in person's own security activity.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{context::ContextExt, errors::IntoGraphql, guards::SignedIn};
use crate::{db::entities::audit_events::Model, services::audit};

/// One entry of the audit trail. `details` holds categories and counts, never personal data.
#[derive(Debug, Clone, SimpleObject, Serialize)]
#[graphql(name = "AuditEvent")]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// For example `login.succeeded` or `session.revoked`.
    pub kind: String,
    /// `success` or `failure`.
    pub outcome: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The account the event is about.
    pub account_id: Option<Uuid>,
    /// Who acted: the account itself, an administrator, or nobody (the command line).
    pub actor_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub details: async_graphql::Json<serde_json::Value>,
}

impl From<Model> for AuditEventView {
    fn from(model: Model) -> Self {
        let details = serde_json::from_str(&model.details).unwrap_or_default();
        Self {
            id: model.id,
            at: model.at,
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
    /// The signed-in account's own security activity, newest first. `after` is the `id` of
    /// the last event of the previous page.
    #[graphql(
        guard = "SignedIn",
        complexity = "(first.unwrap_or(20).clamp(1, 100) as usize).div_ceil(10) * child_complexity + 1"
    )]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Vec<AuditEventView>> {
        let principal = ctx.principal().await?;
        let page = audit::Page {
            first: first.unwrap_or(audit::DEFAULT_PAGE),
            after: after.as_deref(),
        };
        let events = audit::own_events(ctx.state(), principal.account, page)
            .await
            .graphql()?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}
