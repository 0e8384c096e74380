//! Documents already parsed, by their text. Parsing is the largest single cost of a small
//! query (a walk of the GraphQL grammar: about a sixth of the CPU of an authenticated `me`),
//! and clients send the same few documents over and over, so each distinct text is parsed,
//! checked against the limits on a document's shape (`graphql::check_document`: fragment
//! expansion, depth, root fields) and mapped for argument positions once.
//!
//! Only documents that parsed and passed those checks are kept, each at most
//! [`MAX_TEXT`] bytes, at most [`CAPACITY`] of them (past it the cache starts over): a client
//! that sends ever new documents costs no more memory than that, and no more time than the
//! parse it would have cost anyway.

use std::{
    collections::HashMap,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Name, Pos, ServerError,
    parser::{
        parse_query,
        types::{DocumentOperations, ExecutableDocument},
    },
};

use super::argument_positions;
use crate::graphql::check_document;

/// Documents kept at most.
const CAPACITY: usize = 256;
/// The longest text kept, in bytes.
const MAX_TEXT: usize = 4096;

/// A document ready to run.
pub struct Parsed {
    pub document: ExecutableDocument,
    /// Where each argument value is, with the argument's name: errors about a value name it.
    pub arguments: Vec<(Pos, String)>,
    /// The name of the document's one operation (`None` when anonymous), if that operation
    /// declares no variables: nothing in the request can then change what validating it
    /// finds, as it holds no reference a variable's value could fill.
    alone: Option<Option<Name>>,
    /// Whether a run of that operation passed validation in full.
    validated: AtomicBool,
}

/// How a request for a document is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// In full, every time: the request runs another than the document's one operation, or
    /// that operation declares variables.
    Always,
    /// In full, and if it passes, never again for this document ([`Parsed::mark_validated`]).
    Once,
    /// Done before: nothing in the request can change what it would find.
    Done,
}

impl Parsed {
    /// How a request running this document with `operation_name` is validated.
    pub fn validation(&self, operation_name: Option<&str>) -> Validation {
        let alone = match (&self.alone, operation_name) {
            (Some(_), None) => true,
            (Some(Some(own)), Some(asked)) => own.as_str() == asked,
            _ => false,
        };
        match (alone, self.validated.load(Ordering::Relaxed)) {
            (false, _) => Validation::Always,
            (true, false) => Validation::Once,
            (true, true) => Validation::Done,
        }
    }

    /// Records that a request validated [`Validation::Once`] passed.
    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

/// The name of the document's one operation, if it has one and it declares no variables.
fn alone(document: &ExecutableDocument) -> Option<Option<Name>> {
    let (name, operation) = match &document.operations {
        DocumentOperations::Single(operation) => (None, operation),
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            let (name, operation) = operations.iter().next()?;
            (Some(name.clone()), operation)
        }
        DocumentOperations::Multiple(_) => return None,
    };
    operation
        .node
        .variable_definitions
        .is_empty()
        .then_some(name)
}

/// What the text of a request turned out to be.
pub enum Outcome {
    Ready(Arc<Parsed>),
    /// Past a limit on its shape (its fragments would expand without bound, say): refused
    /// before the engine walks it.
    Refused(ServerError),
    /// It does not parse: the engine answers with its syntax error, running nothing.
    Unparsed,
}

#[derive(Default)]
pub struct ParsedDocuments {
    map: RwLock<HashMap<Arc<str>, Arc<Parsed>>>,
}

impl ParsedDocuments {
    pub fn parse(&self, text: &str) -> Outcome {
        let known = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(text)
            .cloned();
        if let Some(parsed) = known {
            return Outcome::Ready(parsed);
        }
        let Ok(document) = parse_query(text) else {
            return Outcome::Unparsed;
        };
        if let Err(error) = check_document(&document) {
            return Outcome::Refused(error);
        }
        let arguments = argument_positions::of(&document);
        let parsed = Arc::new(Parsed {
            alone: alone(&document),
            document,
            arguments,
            validated: AtomicBool::new(false),
        });
        if text.len() <= MAX_TEXT {
            let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(Arc::from(text), Arc::clone(&parsed));
        }
        Outcome::Ready(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_answers_the_same() {
        let cache = ParsedDocuments::default();
        let text = "query($id: UUID!) { account(id: $id) { email } }";
        let (Outcome::Ready(first), Outcome::Ready(second)) =
            (cache.parse(text), cache.parse(text))
        else {
            panic!("parses");
        };
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(first.arguments.len(), 1);
        assert_eq!(first.arguments[0].1, "id");
    }

    #[test]
    fn only_a_lone_operation_without_variables_is_validated_once() {
        let cache = ParsedDocuments::default();
        let ready = |text: &str| match cache.parse(text) {
            Outcome::Ready(parsed) => parsed,
            _ => panic!("parses: {text}"),
        };
        let anonymous = ready("{ me { id } }");
        assert_eq!(anonymous.validation(None), Validation::Once);
        assert_eq!(anonymous.validation(Some("Me")), Validation::Always);
        anonymous.mark_validated();
        assert_eq!(anonymous.validation(None), Validation::Done);
        assert_eq!(anonymous.validation(Some("Me")), Validation::Always);

        let named = ready("query Me { me { id } }");
        assert_eq!(named.validation(Some("Other")), Validation::Always);
        assert_eq!(named.validation(Some("Me")), Validation::Once);
        named.mark_validated();
        assert_eq!(named.validation(None), Validation::Done);
        assert_eq!(named.validation(Some("Me")), Validation::Done);
        assert_eq!(named.validation(Some("Other")), Validation::Always);

        let with_variables = ready("query($id: UUID!) { account(id: $id) { email } }");
        assert_eq!(with_variables.validation(None), Validation::Always);
        let two = ready("query A { me { id } } query B { me { email } }");
        assert_eq!(two.validation(Some("A")), Validation::Always);
    }

    #[test]
    fn only_good_small_documents_are_kept_and_never_too_many() {
        let cache = ParsedDocuments::default();
        assert!(matches!(cache.parse("{ me { "), Outcome::Unparsed));
        let runaway = "query { ...a } fragment a on Query { ...a }";
        assert!(matches!(cache.parse(runaway), Outcome::Refused(_)));
        let long = format!("{{ me {{ id {} }} }}", "email ".repeat(MAX_TEXT / 6));
        assert!(matches!(cache.parse(&long), Outcome::Ready(_)));
        assert!(cache.map.read().unwrap().is_empty());
        for alias in 0..=CAPACITY {
            let text = format!("{{ a{alias}: me {{ id }} }}");
            assert!(matches!(cache.parse(&text), Outcome::Ready(_)));
        }
        assert!(cache.map.read().unwrap().len() <= CAPACITY);
    }
}
