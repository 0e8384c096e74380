//! Counts and times every GraphQL operation by its root field and outcome.
//!
//! The label is a field name of the schema, taken only once the document passed validation:
//! a client can neither invent label values (operation names and aliases are ignored) nor
//! grow the number of series.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
        NextRequest, NextValidation,
    },
    parser::types::{DocumentOperations, ExecutableDocument, Selection},
};

use crate::{metrics::OperationLabels, state::AppState};

/// Codes an error may carry (API.md); anything else counts as the code the HTTP layer gives
/// errors raised before a resolver ran.
const CODES: &[&str] = &[
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "MFA_REQUIRED",
    "RATE_LIMITED",
    "CONFLICT",
    "NOT_FOUND",
    "INTERNAL",
];

pub struct OperationMetrics;

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Recorder::default())
    }
}

#[derive(Default)]
struct Recorder {
    operation_name: Mutex<Option<String>>,
    /// The root field, known after parsing; trusted after validation.
    root: Mutex<Option<String>>,
    valid: Mutex<bool>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_graphql::async_trait::async_trait]
impl Extension for Recorder {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let operation = if *lock(&self.valid) {
            lock(&self.root).take()
        } else {
            None
        };
        if let Ok(state) = ctx.data::<AppState>() {
            state.metrics.graphql_operation(
                &OperationLabels {
                    operation: operation.unwrap_or_else(|| "invalid".into()),
                    outcome: outcome(&response.errors),
                },
                started.elapsed().as_secs_f64(),
            );
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        lock(&self.operation_name).clone_from(&request.operation_name);
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let name = lock(&self.operation_name).take();
        *lock(&self.root) = root_field(&document, name.as_deref());
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        *lock(&self.valid) = true;
        Ok(result)
    }
}

/// The root field the operation selects, `multiple` when it selects several.
fn root_field(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<String> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .iter()
            .find(|(candidate, _)| candidate.as_str() == name)
            .map(|(_, operation)| operation)?,
        // A lone named operation runs without `operationName`.
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()?
        }
        (DocumentOperations::Multiple(_), None) => return None,
    };
    let mut fields =
        operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => Some(field.node.name.node.as_str()),
                _ => None,
            });
    match (fields.next(), fields.next()) {
        (Some(Some(field)), None) => Some(field.to_owned()),
        _ => Some("multiple".to_owned()),
    }
}

fn outcome(errors: &[ServerError]) -> &'static str {
    let Some(first) = errors.first() else {
        return "ok";
    };
    let code = first
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("code"))
        .and_then(|code| match code {
            Value::String(code) => Some(code.as_str()),
            _ => None,
        });
    code.and_then(|code| CODES.iter().find(|known| **known == code))
        .copied()
        .unwrap_or("BAD_USER_INPUT")
}
