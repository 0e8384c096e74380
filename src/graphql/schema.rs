use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use super::{
    metrics::OperationMetrics,
    mutation::Mutation,
    query::Query,
    query_limits::{DepthLimit, SensitiveFieldCap},
};
use crate::state::AppState;

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// Complexity cap: generous for real clients, fatal for abusive breadth. Depth is capped by
/// the `DepthLimit` extension.
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
        .extension(DepthLimit)
        .extension(SensitiveFieldCap)
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
