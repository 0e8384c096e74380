//! Trusted documents: the operations a client build ships, known to the server by their
//! SHA-256. A client may send a document's id instead of its text; with
//! `CUSTODIAN_TRUSTED_DOCUMENTS_ONLY`, nothing else runs, so an attacker cannot send a query
//! the clients never would (a costly shape, a probe of the schema), whatever the other limits.

use std::{collections::HashMap, path::Path};

use serde_json::Value;

use super::graphql_params::Document;
use crate::crypto::sha256_hex;

const SETTING: &str = "CUSTODIAN_TRUSTED_DOCUMENTS";
const ID_PREFIX: &str = "sha256:";

/// The manifest, by id (64 lower-case hex digits), and whether only its documents may run.
#[derive(Debug, Default)]
pub struct TrustedDocuments {
    documents: HashMap<String, String>,
    only: bool,
}

/// Why the manifest cannot be used; each names the setting, and the entry when one is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{SETTING}: cannot read {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{SETTING}: {path} is not a JSON object of \"sha256:<hex>\" ids to document text: {reason}"
    )]
    Invalid { path: String, reason: String },
    #[error("{SETTING}: entry \"{id}\" is not the SHA-256 of its document text")]
    WrongHash { id: String },
    #[error("{SETTING}: entry \"{id}\" repeats a document listed under another id")]
    Repeated { id: String },
}

/// Why a request's document cannot run; each is answered 400 before anything executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentRefused {
    /// `documentId` names no trusted document.
    NotFound,
    /// Only trusted documents may run, and the `query` is not one.
    Required,
    /// `query` and `documentId` are both given and are not the same document.
    Mismatch,
}

impl DocumentRefused {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Required => "PERSISTED_QUERY_REQUIRED",
            Self::Mismatch => "BAD_USER_INPUT",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotFound => "no trusted document has this documentId",
            Self::Required => "only trusted documents may run: send a known documentId",
            Self::Mismatch => "documentId is not the SHA-256 of query",
        }
    }
}

impl TrustedDocuments {
    /// No manifest: every `query` runs and no `documentId` is known.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads and checks the manifest at start, so a wrong entry stops the service instead of
    /// failing the clients that use it.
    pub fn load(path: &Path, only: bool) -> Result<Self, ManifestError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Unreadable {
            path: shown.clone(),
            source,
        })?;
        Self::from_manifest(&text, only).map_err(|err| match err {
            ManifestError::Invalid { reason, .. } => ManifestError::Invalid {
                path: shown,
                reason,
            },
            other => other,
        })
    }

    /// The manifest's text, `{"sha256:<hex>": text}`; graphql-codegen's client preset writes
    /// the bare hex as the key, accepted too.
    fn from_manifest(text: &str, only: bool) -> Result<Self, ManifestError> {
        let invalid = |reason: String| ManifestError::Invalid {
            path: String::new(),
            reason,
        };
        let manifest: serde_json::Map<String, Value> =
            serde_json::from_str(text).map_err(|err| invalid(err.to_string()))?;
        let mut documents = HashMap::with_capacity(manifest.len());
        for (id, document) in manifest {
            let Value::String(document) = document else {
                return Err(invalid(format!("the value of \"{id}\" is not a string")));
            };
            let hash = sha256_hex(document.as_bytes());
            if normalise(&id).as_deref() != Some(hash.as_str()) {
                return Err(ManifestError::WrongHash { id });
            }
            if documents.insert(hash, document).is_some() {
                return Err(ManifestError::Repeated { id });
            }
        }
        Ok(Self { documents, only })
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// The text to run.
    pub fn resolve(&self, document: Document) -> Result<String, DocumentRefused> {
        let text = match document {
            Document::Id(id) => {
                return normalise(&id)
                    .and_then(|id| self.documents.get(&id).cloned())
                    .ok_or(DocumentRefused::NotFound);
            }
            Document::TextAndId { text, id } => {
                if normalise(&id) != Some(sha256_hex(text.as_bytes())) {
                    return Err(DocumentRefused::Mismatch);
                }
                text
            }
            Document::Text(text) => text,
        };
        if self.only && !self.documents.contains_key(&sha256_hex(text.as_bytes())) {
            return Err(DocumentRefused::Required);
        }
        Ok(text)
    }
}

/// `sha256:<hex>` or `<hex>` as 64 lower-case hex digits; `None` for anything else.
fn normalise(id: &str) -> Option<String> {
    let hex = id.strip_prefix(ID_PREFIX).unwrap_or(id);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ME: &str = "query Me { me { id } }";

    fn manifest(only: bool) -> TrustedDocuments {
        let manifest = json!({ format!("sha256:{}", sha256_hex(ME.as_bytes())): ME });
        TrustedDocuments::from_manifest(&manifest.to_string(), only).expect("valid manifest")
    }

    #[test]
    fn ids_with_or_without_the_prefix_name_a_document() {
        let documents = manifest(false);
        let hash = sha256_hex(ME.as_bytes());
        for id in [
            format!("sha256:{hash}"),
            hash.clone(),
            hash.to_ascii_uppercase(),
        ] {
            assert_eq!(
                documents.resolve(Document::Id(id.clone())).as_deref(),
                Ok(ME),
                "{id}"
            );
        }
        let unknown = sha256_hex(b"{ __typename }");
        for id in [unknown.as_str(), "sha256:", "nonsense", ""] {
            assert_eq!(
                documents.resolve(Document::Id(id.into())),
                Err(DocumentRefused::NotFound),
                "{id}"
            );
        }
    }

    #[test]
    fn a_query_and_an_id_must_agree() {
        let documents = manifest(false);
        let hash = sha256_hex(ME.as_bytes());
        assert_eq!(
            documents
                .resolve(Document::TextAndId {
                    text: ME.into(),
                    id: hash.clone()
                })
                .as_deref(),
            Ok(ME)
        );
        assert_eq!(
            documents.resolve(Document::TextAndId {
                text: "{ __typename }".into(),
                id: hash.clone()
            }),
            Err(DocumentRefused::Mismatch)
        );
        assert_eq!(
            documents.resolve(Document::TextAndId {
                text: ME.into(),
                id: "nonsense".into()
            }),
            Err(DocumentRefused::Mismatch)
        );
    }

    #[test]
    fn only_mode_runs_listed_queries_alone() {
        let open = manifest(false);
        assert_eq!(
            open.resolve(Document::Text("{ __typename }".into()))
                .as_deref(),
            Ok("{ __typename }")
        );
        let only = manifest(true);
        assert_eq!(
            only.resolve(Document::Text("{ __typename }".into())),
            Err(DocumentRefused::Required)
        );
        assert_eq!(only.resolve(Document::Text(ME.into())).as_deref(), Ok(ME));
        // A document differing by a single space is another document.
        assert_eq!(
            only.resolve(Document::Text(format!("{ME} "))),
            Err(DocumentRefused::Required)
        );
        assert_eq!(
            TrustedDocuments::none().resolve(Document::Id(sha256_hex(ME.as_bytes()))),
            Err(DocumentRefused::NotFound)
        );
    }

    #[test]
    fn a_wrong_manifest_names_its_entry() {
        let wrong = json!({ "sha256:0000000000000000000000000000000000000000000000000000000000000000": ME });
        let err = TrustedDocuments::from_manifest(&wrong.to_string(), false).expect_err("wrong");
        assert!(
            matches!(err, ManifestError::WrongHash { ref id } if id.ends_with("0000")),
            "{err}"
        );
        assert!(err.to_string().contains(SETTING), "{err}");
        let sha1 = json!({ "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12": ME });
        assert!(TrustedDocuments::from_manifest(&sha1.to_string(), false).is_err());
        let hash = sha256_hex(ME.as_bytes());
        let twice = json!({ format!("sha256:{hash}"): ME, hash: ME });
        assert!(matches!(
            TrustedDocuments::from_manifest(&twice.to_string(), false),
            Err(ManifestError::Repeated { .. })
        ));
        for invalid in ["[]", "{", r#"{"a": 1}"#] {
            assert!(
                matches!(
                    TrustedDocuments::from_manifest(invalid, false),
                    Err(ManifestError::Invalid { .. } | ManifestError::WrongHash { .. })
                ),
                "{invalid}"
            );
        }
    }
}
