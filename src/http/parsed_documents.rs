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
    sync::{Arc, PoisonError, RwLock},
};

use async_graphql::{
    Pos, ServerError,
    parser::{parse_query, types::ExecutableDocument},
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
            document,
            arguments,
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
