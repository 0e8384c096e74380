//! The labels every GraphQL operation is counted and timed under: its root field and outcome.
//!
//! The field label is a field name of the schema, given only to a document that ran: a client
//! can neither invent label values (operation names and aliases are ignored) nor grow the
//! number of series. The HTTP layer records them, around the engine (an engine extension would
//! add a hop to the resolution of every field).

use async_graphql::{
    ServerError, Value,
    parser::types::{DocumentOperations, ExecutableDocument, Selection},
};

use crate::metrics::OperationLabels;

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

/// The labels of an operation: `root` is the root field of the document it named (see
/// [`root_field`]), `None` for a document that did not parse; `ran` says whether it got past
/// the checks before execution (parsing, limits, validation, variables).
pub fn labels(root: Option<String>, ran: bool, errors: &[ServerError]) -> OperationLabels {
    OperationLabels {
        operation: root.filter(|_| ran).unwrap_or_else(|| "invalid".to_owned()),
        outcome: outcome(errors),
    }
}

/// The root field the operation selects, `multiple` when it selects several.
pub fn root_field(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<String> {
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
