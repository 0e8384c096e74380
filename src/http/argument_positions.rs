//! Where each argument's value stands in a document. The engine reports an argument value it
//! cannot read (a malformed `UUID`, say) by position only; this lets the error name the
//! argument, as every other input error does.

use async_graphql::{
    Pos,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

/// The position of every argument value in `document`, with the argument's name.
pub fn of(document: &ExecutableDocument) -> Vec<(Pos, String)> {
    let mut found = Vec::new();
    match &document.operations {
        DocumentOperations::Single(operation) => {
            walk(&operation.node.selection_set.node, &mut found);
        }
        DocumentOperations::Multiple(operations) => {
            for operation in operations.values() {
                walk(&operation.node.selection_set.node, &mut found);
            }
        }
    }
    for fragment in document.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut found);
    }
    found
}

fn walk(selections: &SelectionSet, found: &mut Vec<(Pos, String)>) {
    for selection in &selections.items {
        match &selection.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    found.push((value.pos, name.node.to_string()));
                }
                walk(&field.node.selection_set.node, found);
            }
            Selection::InlineFragment(fragment) => {
                walk(&fragment.node.selection_set.node, found);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// The argument whose value stands at `line`:`column`, if any.
pub fn named_at(positions: &[(Pos, String)], line: u64, column: u64) -> Option<&str> {
    positions
        .iter()
        .find(|(pos, _)| pos.line as u64 == line && pos.column as u64 == column)
        .map(|(_, name)| name.as_str())
}
