//! The parameters of a GraphQL-over-HTTP request, read from a POST body or a GET query string
//! into types before anything else looks at them. A parameter of the wrong type is the
//! client's mistake, answered 400 whatever the media type; a `query` that does not parse is
//! not: it is a string, and the GraphQL engine answers it.

use serde_json::{Map, Value};

/// A well-formed request: its document, and the optional parameters, `null` being the same as
/// absent.
#[derive(Debug, PartialEq)]
pub struct GraphqlParams {
    pub document: Document,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
}

/// How the request names its document. An id is a trusted document's, `sha256:<hex>` or the
/// bare hex; with both, they must agree.
#[derive(Debug, PartialEq)]
pub enum Document {
    Text(String),
    Id(String),
    TextAndId { text: String, id: String },
}

impl Document {
    fn from_parts(text: Option<String>, id: Option<String>) -> Result<Self, ParamsError> {
        match (text, id) {
            (Some(text), None) => Ok(Self::Text(text)),
            (None, Some(id)) => Ok(Self::Id(id)),
            (Some(text), Some(id)) => Ok(Self::TextAndId { text, id }),
            (None, None) => Err(ParamsError::NoDocument),
        }
    }
}

/// Why a request is not a GraphQL-over-HTTP request.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ParamsError {
    #[error("the request body is not valid JSON")]
    NotJson,
    #[error("batched requests are not supported: send one operation per request")]
    Batch,
    #[error("the request body is not a GraphQL request: expected a JSON object")]
    NotAnObject,
    #[error("no query in the request: send `query` (or `documentId`)")]
    NoDocument,
    #[error("`{name}` must be {expected}")]
    WrongType {
        name: &'static str,
        expected: &'static str,
    },
    #[error("`{0}` is given more than once")]
    Repeated(&'static str),
}

/// The parameters this server reads; the spec asks that any other be ignored.
const QUERY: &str = "query";
const DOCUMENT_ID: &str = "documentId";
const OPERATION_NAME: &str = "operationName";
const VARIABLES: &str = "variables";
const EXTENSIONS: &str = "extensions";
const PARAMETERS: [&str; 5] = [QUERY, DOCUMENT_ID, OPERATION_NAME, VARIABLES, EXTENSIONS];

impl GraphqlParams {
    /// From a POST body: one JSON object whose `variables` and `extensions` are objects.
    pub fn from_json(body: &[u8]) -> Result<Self, ParamsError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| ParamsError::NotJson)?;
        let mut object = match value {
            Value::Object(object) => object,
            Value::Array(_) => return Err(ParamsError::Batch),
            _ => return Err(ParamsError::NotAnObject),
        };
        let mut take_string = |name: &'static str| match object.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(ParamsError::WrongType {
                name,
                expected: "a string",
            }),
        };
        let query = take_string(QUERY)?;
        let document_id = take_string(DOCUMENT_ID)?;
        let operation_name = take_string(OPERATION_NAME)?;
        let variables = take_map(object.remove(VARIABLES), VARIABLES)?;
        // Extensions are reserved for the protocol; none is used yet, but the shape is checked.
        take_map(object.remove(EXTENSIONS), EXTENSIONS)?;
        Ok(Self {
            document: Document::from_parts(query, document_id)?,
            operation_name,
            variables,
        })
    }

    /// From a GET query string's pairs: `variables` and `extensions` are JSON-encoded objects.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ParamsError> {
        let mut found: [Option<String>; 5] = Default::default();
        for (key, value) in pairs {
            let Some(index) = PARAMETERS.iter().position(|name| *name == key) else {
                continue;
            };
            if found[index].replace(value).is_some() {
                return Err(ParamsError::Repeated(PARAMETERS[index]));
            }
        }
        let [query, document_id, operation_name, variables, extensions] = found;
        let decode = |text: Option<String>, name: &'static str| match text {
            None => Ok(None),
            Some(text) => {
                let value = serde_json::from_str(&text).map_err(|_| ParamsError::WrongType {
                    name,
                    expected: "a JSON-encoded object",
                })?;
                take_map(Some(value), name)
            }
        };
        let variables = decode(variables, VARIABLES)?;
        decode(extensions, EXTENSIONS)?;
        Ok(Self {
            document: Document::from_parts(query, document_id)?,
            operation_name,
            variables,
        })
    }
}

fn take_map(
    value: Option<Value>,
    name: &'static str,
) -> Result<Option<Map<String, Value>>, ParamsError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(ParamsError::WrongType {
            name,
            expected: "an object",
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn from_json(value: Value) -> Result<GraphqlParams, ParamsError> {
        GraphqlParams::from_json(value.to_string().as_bytes())
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_post_body_becomes_parameters() {
        let params = from_json(json!({
            "query": "query Q($a: Int) { x }",
            "operationName": "Q",
            "variables": { "a": 1 },
            "extensions": { "some": "value" },
            "unknown": [1, 2],
        }))
        .expect("well formed");
        assert_eq!(
            params.document,
            Document::Text("query Q($a: Int) { x }".into())
        );
        assert_eq!(params.operation_name.as_deref(), Some("Q"));
        assert_eq!(params.variables, json!({ "a": 1 }).as_object().cloned());
        let nulls = from_json(json!({
            "query": "{ x }", "operationName": null, "variables": null, "extensions": null
        }))
        .expect("null is absent");
        assert_eq!(nulls.operation_name, None);
        assert_eq!(nulls.variables, None);
        let by_id = from_json(json!({ "documentId": "sha256:ab" })).expect("an id alone");
        assert_eq!(by_id.document, Document::Id("sha256:ab".into()));
        let both = from_json(json!({ "query": "{ x }", "documentId": "ab" })).expect("both");
        assert_eq!(
            both.document,
            Document::TextAndId {
                text: "{ x }".into(),
                id: "ab".into()
            }
        );
    }

    #[test]
    fn a_post_body_of_the_wrong_shape_is_refused() {
        assert_eq!(
            GraphqlParams::from_json(b"{ \"not a JSON"),
            Err(ParamsError::NotJson)
        );
        assert_eq!(GraphqlParams::from_json(b""), Err(ParamsError::NotJson));
        assert_eq!(
            from_json(json!([{ "query": "{ x }" }])),
            Err(ParamsError::Batch)
        );
        assert_eq!(from_json(json!("{ x }")), Err(ParamsError::NotAnObject));
        assert_eq!(
            from_json(json!({ "qeury": "{ x }" })),
            Err(ParamsError::NoDocument)
        );
        for invalid in [
            json!({ "obj": "ect" }),
            json!(0),
            json!(false),
            json!(["array"]),
        ] {
            for name in [QUERY, DOCUMENT_ID, OPERATION_NAME] {
                let mut body = json!({ "query": "{ x }" });
                body[name] = invalid.clone();
                assert!(
                    matches!(from_json(body), Err(ParamsError::WrongType { name: found, .. }) if found == name),
                    "{name}: {invalid}"
                );
            }
        }
        for invalid in [json!("string"), json!(0), json!(false), json!(["array"])] {
            for name in [VARIABLES, EXTENSIONS] {
                let mut body = json!({ "query": "{ x }" });
                body[name] = invalid.clone();
                assert!(
                    matches!(from_json(body), Err(ParamsError::WrongType { name: found, .. }) if found == name),
                    "{name}: {invalid}"
                );
            }
        }
    }

    #[test]
    fn a_query_string_becomes_parameters() {
        let params = GraphqlParams::from_pairs(pairs(&[
            ("query", "query T($n: String!) { t(n: $n) }"),
            ("operationName", "T"),
            ("variables", r#"{"n":"x"}"#),
            ("extensions", "{}"),
            ("other", "ignored"),
        ]))
        .expect("well formed");
        assert_eq!(params.operation_name.as_deref(), Some("T"));
        assert_eq!(params.variables, json!({ "n": "x" }).as_object().cloned());
        assert_eq!(
            GraphqlParams::from_pairs(pairs(&[("query", "{ x }"), ("variables", "[1]")])),
            Err(ParamsError::WrongType {
                name: VARIABLES,
                expected: "an object"
            })
        );
        assert!(matches!(
            GraphqlParams::from_pairs(pairs(&[("query", "{ x }"), ("extensions", "{")])),
            Err(ParamsError::WrongType {
                name: EXTENSIONS,
                ..
            })
        ));
        assert_eq!(
            GraphqlParams::from_pairs(pairs(&[("query", "{ x }"), ("query", "{ y }")])),
            Err(ParamsError::Repeated(QUERY))
        );
        assert_eq!(
            GraphqlParams::from_pairs(Vec::new()),
            Err(ParamsError::NoDocument)
        );
    }
}
