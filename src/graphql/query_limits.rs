//! A cap on how many sensitive fields one request may hold. Each execution of such a field is
//! also rate-limited on its own; the cap stops a single request from queueing thousands of
//! password checks before the limits answer.

use std::sync::Arc;

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection},
};

/// Fields that check a secret or send an email.
const SENSITIVE: &[&str] = &[
    "login",
    "register",
    "verifyMfa",
    "refreshToken",
    "requestPasswordReset",
    "resetPassword",
    "changePassword",
    "verifyEmail",
    "requestEmailVerification",
    "confirmMfa",
    "disableMfa",
    "regenerateRecoveryCodes",
    "deleteAccount",
];

/// At most this many sensitive fields (aliases included) per request.
pub const MAX_SENSITIVE_FIELDS: usize = 20;

pub struct SensitiveFieldCap;

impl ExtensionFactory for SensitiveFieldCap {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SensitiveFieldCap)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for SensitiveFieldCap {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let sensitive = document
            .operations
            .iter()
            .flat_map(|(_, operation)| operation.node.selection_set.node.items.iter())
            .filter(|selection| match &selection.node {
                Selection::Field(field) => SENSITIVE.contains(&field.node.name.node.as_str()),
                // Fragments at the root could hide fields; sensitive fields are mutations,
                // which are rarely spread, so each spread counts as one.
                _ => true,
            })
            .count();
        if sensitive > MAX_SENSITIVE_FIELDS {
            return Err(ServerError::new(
                format!(
                    "a request may hold at most {MAX_SENSITIVE_FIELDS} sign-in, code or token fields"
                ),
                None,
            ));
        }
        Ok(document)
    }
}
