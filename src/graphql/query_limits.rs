//! Limits on a request's shape, checked once it parses and before anything runs: once per
//! distinct document, as the HTTP layer keeps documents parsed and checked (see
//! `http::parsed_documents`), not on every request.
//!
//! - Depth: how far selections nest. Our own count rather than async-graphql's, because that
//!   one counts introspection's `ofType` chain and so refuses the standard introspection query
//!   that GraphiQL and codegen send.
//! - Root fields: each runs a resolver (and maybe a guard that writes); one request runs at most
//!   [`MAX_ROOT_FIELDS`] of them, aliases and fragment spreads counted out.
//! - Sensitive fields: each execution of such a field is rate-limited on its own; the cap stops
//!   a single request from queueing thousands of password checks before the limits answer.

use std::collections::HashMap;

use async_graphql::{
    Name, ServerError,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Most selections a document may hold with its fragments written out. Checked before
/// anything else walks the document: a few lines of fragments that spread each other twice
/// expand to billions of selections, and the engine's own checks would walk every one.
pub const MAX_EXPANDED_SELECTIONS: usize = 10_000;

/// Refuses a document this server does not run, whatever it asks for: fragments that expand
/// without bound (checked first, before anything else walks it), nesting deeper than
/// [`MAX_DEPTH`], more than [`MAX_ROOT_FIELDS`] root fields or [`MAX_SENSITIVE_FIELDS`]
/// sensitive ones.
pub fn check_document(document: &ExecutableDocument) -> Result<(), ServerError> {
    check_expansion(document)?;
    if Depth::new(document).of_document() > MAX_DEPTH {
        return Err(ServerError::new("Query is nested too deep.", None));
    }
    let roots = root_fields(document);
    if roots.len() > MAX_ROOT_FIELDS {
        return Err(ServerError::new(
            format!("a request may run at most {MAX_ROOT_FIELDS} top-level fields"),
            None,
        ));
    }
    let sensitive = roots.iter().filter(|name| SENSITIVE.contains(name)).count();
    if sensitive > MAX_SENSITIVE_FIELDS {
        return Err(ServerError::new(
            format!(
                "a request may hold at most {MAX_SENSITIVE_FIELDS} sign-in, code or token fields"
            ),
            None,
        ));
    }
    Ok(())
}

/// Refuses a document whose fragments expand past [`MAX_EXPANDED_SELECTIONS`] or spread
/// themselves, counting each fragment once (so the count itself costs nothing).
fn check_expansion(document: &ExecutableDocument) -> Result<(), ServerError> {
    let mut expansion = Expansion {
        document,
        sizes: HashMap::new(),
        expanding: Vec::new(),
    };
    let total = document
        .operations
        .iter()
        .map(|(_, operation)| expansion.of_selections(&operation.node.selection_set.node))
        .try_fold(0usize, |total, size| total.checked_add(size?));
    match total {
        Some(total) if total <= MAX_EXPANDED_SELECTIONS => Ok(()),
        _ => Err(ServerError::new(
            format!(
                "the query's fragments expand past {MAX_EXPANDED_SELECTIONS} selections, or spread themselves"
            ),
            None,
        )),
    }
}

/// Sizes of selection sets with fragments written out; `None` past the cap or on a cycle.
struct Expansion<'a> {
    document: &'a ExecutableDocument,
    sizes: HashMap<&'a Name, Option<usize>>,
    expanding: Vec<&'a Name>,
}

impl<'a> Expansion<'a> {
    fn of_selections(&mut self, selections: &'a SelectionSet) -> Option<usize> {
        let mut total: usize = 0;
        for selection in &selections.items {
            let inner = match &selection.node {
                Selection::Field(field) => self.of_selections(&field.node.selection_set.node)?,
                Selection::InlineFragment(fragment) => {
                    self.of_selections(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.of_fragment(&spread.node.fragment_name.node)?
                }
            };
            total = total.checked_add(inner)?.checked_add(1)?;
            if total > MAX_EXPANDED_SELECTIONS {
                return None;
            }
        }
        Some(total)
    }

    fn of_fragment(&mut self, name: &'a Name) -> Option<usize> {
        if let Some(size) = self.sizes.get(name) {
            return *size;
        }
        if self.expanding.contains(&name) {
            return None;
        }
        let document = self.document;
        let Some(fragment) = document.fragments.get(name) else {
            // An unknown fragment is validation's to name.
            return Some(0);
        };
        self.expanding.push(name);
        let size = self.of_selections(&fragment.node.selection_set.node);
        self.expanding.pop();
        self.sizes.insert(name, size);
        size
    }
}

/// Deepest nesting of fields a request may select. `ofType` inside introspection does not
/// count: it follows one type's wrappers, never fans out, and ends within a few steps, yet
/// graphql-js's introspection query nests it nine deep.
pub const MAX_DEPTH: usize = 12;

/// Walks a document's selections with each fragment's depth computed once, so fragments spread
/// many times cost no more than fragments spread once.
struct Depth<'a> {
    document: &'a ExecutableDocument,
    /// Depth of a fragment's selections, by fragment and whether it sits inside introspection.
    fragments: HashMap<(&'a Name, bool), usize>,
    /// Fragments being expanded, to stop at a cycle (which validation refuses anyway).
    expanding: Vec<&'a Name>,
}

impl<'a> Depth<'a> {
    fn new(document: &'a ExecutableDocument) -> Self {
        Self {
            document,
            fragments: HashMap::new(),
            expanding: Vec::new(),
        }
    }

    fn of_document(&mut self) -> usize {
        let document = self.document;
        document
            .operations
            .iter()
            .map(|(_, operation)| self.of_selections(&operation.node.selection_set.node, false))
            .max()
            .unwrap_or(0)
    }

    fn of_selections(&mut self, selections: &'a SelectionSet, introspection: bool) -> usize {
        selections
            .items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let introspection = introspection || name.starts_with("__");
                    let own = usize::from(!(introspection && name == "ofType"));
                    own + self.of_selections(&field.node.selection_set.node, introspection)
                }
                Selection::InlineFragment(fragment) => {
                    self.of_selections(&fragment.node.selection_set.node, introspection)
                }
                Selection::FragmentSpread(spread) => {
                    self.of_fragment(&spread.node.fragment_name.node, introspection)
                }
            })
            .max()
            .unwrap_or(0)
    }

    fn of_fragment(&mut self, name: &'a Name, introspection: bool) -> usize {
        if let Some(depth) = self.fragments.get(&(name, introspection)) {
            return *depth;
        }
        let document = self.document;
        let Some(fragment) = document.fragments.get(name) else {
            return 0;
        };
        if self.expanding.contains(&name) {
            return 0;
        }
        self.expanding.push(name);
        let depth = self.of_selections(&fragment.node.selection_set.node, introspection);
        self.expanding.pop();
        self.fragments.insert((name, introspection), depth);
        depth
    }
}

/// Fields that check a secret, send an email, or keep state for a sign-in.
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
    "reauthenticate",
    "revealSsn",
    "requestMfaReset",
    "approveMfaReset",
    "requestEmailChange",
    "confirmEmailChange",
    "revertEmailChange",
    "startPasskeyRegistration",
    "finishPasskeyRegistration",
    "removePasskey",
    "startPasskeyLogin",
    "finishPasskeyLogin",
    "verifyMfaPasskey",
];

/// At most this many sensitive fields (aliases included) per request.
pub const MAX_SENSITIVE_FIELDS: usize = 20;

/// At most this many top-level field executions per request.
pub const MAX_ROOT_FIELDS: usize = 100;

/// The names of the fields at the root of the document's operations, once per execution:
/// aliases repeat a name, and fragments (inline or spread, however often) are counted out.
fn root_fields(document: &ExecutableDocument) -> Vec<&str> {
    let mut names = Vec::new();
    for (_, operation) in document.operations.iter() {
        collect_roots(
            document,
            &operation.node.selection_set.node,
            &mut Vec::new(),
            &mut names,
        );
    }
    names
}

fn collect_roots<'a>(
    document: &'a ExecutableDocument,
    selections: &'a SelectionSet,
    expanding: &mut Vec<&'a Name>,
    names: &mut Vec<&'a str>,
) {
    for selection in &selections.items {
        // Past the cap the count no longer matters; stop before a fragment bomb costs time.
        if names.len() > MAX_ROOT_FIELDS {
            return;
        }
        match &selection.node {
            Selection::Field(field) => names.push(field.node.name.node.as_str()),
            Selection::InlineFragment(fragment) => {
                collect_roots(
                    document,
                    &fragment.node.selection_set.node,
                    expanding,
                    names,
                );
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                // A cycle is refused by validation; here it only must not loop.
                if expanding.contains(&name) {
                    continue;
                }
                if let Some(fragment) = document.fragments.get(name) {
                    expanding.push(name);
                    collect_roots(
                        document,
                        &fragment.node.selection_set.node,
                        expanding,
                        names,
                    );
                    expanding.pop();
                }
            }
        }
    }
}
