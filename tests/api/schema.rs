//! The schema documents the whole API: GraphiQL's docs pane shows a description for every
//! type, field, argument, input field and enum value.

use async_graphql::parser::{
    Positioned, parse_schema,
    types::{FieldDefinition, InputValueDefinition, TypeKind, TypeSystemDefinition},
};

/// Scalars and directives the GraphQL specification defines: documented by it, not by us.
const BUILT_IN_SCALARS: &[&str] = &["String", "Int", "Float", "Boolean", "ID"];
const BUILT_IN_DIRECTIVES: &[&str] = &["skip", "include", "deprecated", "specifiedBy", "oneOf"];

fn described(description: Option<&Positioned<String>>) -> bool {
    description.is_some_and(|text| !text.node.trim().is_empty())
}

fn check_arguments(
    owner: &str,
    arguments: &[Positioned<InputValueDefinition>],
    missing: &mut Vec<String>,
) {
    for argument in arguments {
        if !described(argument.node.description.as_ref()) {
            missing.push(format!("{owner}({})", argument.node.name.node));
        }
    }
}

fn check_fields(
    type_name: &str,
    fields: &[Positioned<FieldDefinition>],
    missing: &mut Vec<String>,
) {
    for field in fields {
        let path = format!("{type_name}.{}", field.node.name.node);
        if !described(field.node.description.as_ref()) {
            missing.push(path.clone());
        }
        check_arguments(&path, &field.node.arguments, missing);
    }
}

#[test]
fn every_type_field_argument_and_enum_value_has_a_description() {
    let sdl = custodian::graphql::sdl();
    let document = parse_schema(&sdl).expect("the printed SDL parses");
    let mut missing = Vec::new();
    let mut types = 0;

    for definition in &document.definitions {
        match definition {
            TypeSystemDefinition::Type(ty) => {
                let ty = &ty.node;
                let name = ty.name.node.as_str();
                if name.starts_with("__")
                    || (matches!(ty.kind, TypeKind::Scalar) && BUILT_IN_SCALARS.contains(&name))
                {
                    continue;
                }
                types += 1;
                if !described(ty.description.as_ref()) {
                    missing.push(name.to_owned());
                }
                match &ty.kind {
                    TypeKind::Object(object) => check_fields(name, &object.fields, &mut missing),
                    TypeKind::Interface(interface) => {
                        check_fields(name, &interface.fields, &mut missing)
                    }
                    TypeKind::InputObject(input) => {
                        for field in &input.fields {
                            if !described(field.node.description.as_ref()) {
                                missing.push(format!("{name}.{}", field.node.name.node));
                            }
                        }
                    }
                    TypeKind::Enum(enumeration) => {
                        for value in &enumeration.values {
                            if !described(value.node.description.as_ref()) {
                                missing.push(format!("{name}.{}", value.node.value.node));
                            }
                        }
                    }
                    TypeKind::Scalar | TypeKind::Union(_) => {}
                }
            }
            TypeSystemDefinition::Directive(directive) => {
                let directive = &directive.node;
                let name = directive.name.node.as_str();
                if BUILT_IN_DIRECTIVES.contains(&name) {
                    continue;
                }
                if !described(directive.description.as_ref()) {
                    missing.push(format!("@{name}"));
                }
                check_arguments(&format!("@{name}"), &directive.arguments, &mut missing);
            }
            TypeSystemDefinition::Schema(_) => {}
        }
    }

    // Guards against a walk that silently finds nothing (an SDL the parser read as empty).
    assert!(types >= 20, "only {types} types found in:\n{sdl}");
    assert!(
        missing.is_empty(),
        "{} parts of the schema have no description:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}
