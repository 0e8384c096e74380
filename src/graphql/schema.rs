use async_graphql::{EmptySubscription, Json, MergedObject, Schema, SchemaBuilder, ValidationMode};
use serde_json::Value;
use uuid::Uuid;

use super::{
    account::{AccountQuery, ClosureMutation, ProfileMutation},
    admin::{AdminAccountQuery, AdminAuditQuery, KycMutation},
    audit::AuditQuery,
    auth::AuthMutation,
    email_change::EmailChangeMutation,
    lifecycle::LifecycleMutation,
    mfa::MfaMutation,
    mfa_reset::{MfaResetMutation, MfaResetQuery},
    passkeys::{PasskeyMutation, PasskeyQuery},
    recovery::RecoveryMutation,
    sessions::{SessionMutation, SessionQuery},
};
use crate::state::AppState;

/// What can be read. Most fields need a signed-in caller (an access token as `Authorization:
/// Bearer …` or its cookie); some need the ADMIN role.
// The areas merge in the order `schema.graphql` has always listed their fields.
#[derive(MergedObject, Default)]
pub struct Query(
    AccountQuery,
    AdminAccountQuery,
    SessionQuery,
    AuditQuery,
    AdminAuditQuery,
    MfaResetQuery,
    PasskeyQuery,
);

/// What can be done: sign-up and sign-in, sessions, passwords and email, the profile, KYC
/// decisions, support's account lifecycle, two-step sign-in, passkeys. Send mutations by
/// `POST` only.
#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    SessionMutation,
    RecoveryMutation,
    ProfileMutation,
    KycMutation,
    LifecycleMutation,
    ClosureMutation,
    MfaMutation,
    MfaResetMutation,
    EmailChangeMutation,
    PasskeyMutation,
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// Complexity cap: generous for real clients, fatal for abusive breadth. Depth is capped before
/// the engine sees a document (`query_limits`).
const MAX_COMPLEXITY: usize = 1000;

// Descriptions of the scalars async-graphql provides, written for API users (its own speak of
// Rust types).
const UUID: &str = "An id: a UUID in its hyphenated form (`0190f3a2-7c4e-7b1d-9a55-3c2e8f1d4b6a`).\n\
    Ids the service makes are UUIDv7, ordered by time.";
const JSON: &str = "Any JSON value; each field of this type says what shape it holds.";

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_complexity(MAX_COMPLEXITY)
        .override_output_type_description::<Uuid>(UUID)
        .override_output_type_description::<Json<Value>>(JSON)
}

/// Which rules the engine checks a document against before running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationRules {
    /// Every rule of the specification.
    All,
    /// Only what the engine needs to run a document (fragment cycles, complexity and depth):
    /// for a document this process has already validated in full and whose validation cannot
    /// turn out differently (see `http::parsed_documents`).
    EngineOnly,
}

/// The executable schema. Production hides the schema: no introspection, no suggestions.
pub fn build_schema(state: AppState, rules: ValidationRules) -> AppSchema {
    let production = state.settings.is_production();
    let mode = match rules {
        ValidationRules::All => ValidationMode::Strict,
        ValidationRules::EngineOnly => ValidationMode::Fast,
    };
    let mut builder = builder().data(state).validation_mode(mode);
    if production {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}
