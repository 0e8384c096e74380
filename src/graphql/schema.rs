use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use super::{
    account::{AccountQuery, ClosureMutation, ProfileMutation},
    admin::{AdminAccountQuery, AdminAuditQuery, KycMutation},
    audit::AuditQuery,
    auth::AuthMutation,
    metrics::OperationMetrics,
    mfa::MfaMutation,
    query_limits::QueryLimits,
    recovery::RecoveryMutation,
    sessions::{SessionMutation, SessionQuery},
};
use crate::state::AppState;

// The areas merge in the order `schema.graphql` has always listed their fields.
#[derive(MergedObject, Default)]
pub struct Query(
    AccountQuery,
    AdminAccountQuery,
    SessionQuery,
    AuditQuery,
    AdminAuditQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    SessionMutation,
    RecoveryMutation,
    ProfileMutation,
    KycMutation,
    ClosureMutation,
    MfaMutation,
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// Complexity cap: generous for real clients, fatal for abusive breadth. Depth is capped by
/// the `QueryLimits` extension.
const MAX_COMPLEXITY: usize = 1000;

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The executable schema. Production hides the schema: no introspection, no suggestions.
pub fn build_schema(state: AppState) -> AppSchema {
    let production = state.settings.is_production();
    let mut builder = builder()
        .extension(OperationMetrics)
        .extension(QueryLimits)
        .data(state);
    if production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}
