//! The media type a `/graphql` response is written in, chosen from the request's `Accept`
//! header as GraphQL over HTTP asks. It decides more than the `Content-Type`: under
//! `application/graphql-response+json` a request error is a 4xx without `data`, while a client
//! that only understands `application/json` keeps the legacy answer, 200 with `data: null`.

use axum::http::{HeaderMap, HeaderValue, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMediaType {
    /// `application/graphql-response+json`: the status code tells request errors apart.
    GraphqlResponseJson,
    /// `application/json`: what clients written before the new type understand.
    Json,
}

/// The `Accept` header names neither response media type, nor a range that covers one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAcceptable;

impl ResponseMediaType {
    /// The type `Accept` prefers. No header (or an empty one), `*/*` and `application/*` get
    /// `application/json`: a client that did not ask for the new type may not understand its
    /// status codes. When both types are named with the same weight, the new one wins.
    pub fn negotiate(headers: &HeaderMap) -> Result<Self, NotAcceptable> {
        let ranges: Vec<MediaRange<'_>> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(MediaRange::parse)
            .collect();
        if ranges.is_empty() {
            return Ok(Self::Json);
        }
        let graphql = weight(&ranges, "application", "graphql-response+json");
        let json = weight(&ranges, "application", "json");
        match (graphql, json) {
            (None | Some((0, _)), None | Some((0, _))) => Err(NotAcceptable),
            (Some((graphql, exact)), Some((json, _))) if graphql == json && exact => {
                Ok(Self::GraphqlResponseJson)
            }
            (Some((graphql, _)), json) if graphql > json.map_or(0, |(json, _)| json) => {
                Ok(Self::GraphqlResponseJson)
            }
            _ => Ok(Self::Json),
        }
    }

    /// The `Content-Type` of the response, with the charset spelled out.
    pub fn content_type(self) -> HeaderValue {
        match self {
            Self::GraphqlResponseJson => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
            Self::Json => HeaderValue::from_static("application/json; charset=utf-8"),
        }
    }
}

/// One entry of `Accept`: `type/subtype` and its weight in thousandths (`q=0.9` is 900).
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    weight: u16,
}

impl<'a> MediaRange<'a> {
    fn parse(entry: &'a str) -> Option<Self> {
        let mut parts = entry.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let (kind, subtype) = (kind.trim(), subtype.trim());
        if kind.is_empty() || subtype.is_empty() {
            return None;
        }
        let mut weight = 1000;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                weight = parse_weight(value.trim())?;
            }
        }
        Some(Self {
            kind,
            subtype,
            weight,
        })
    }

    /// How closely this range matches `kind/subtype`: 3 exactly, 2 by `kind/*`, 1 by `*/*`.
    fn specificity(&self, kind: &str, subtype: &str) -> Option<u8> {
        let kind_matches = self.kind.eq_ignore_ascii_case(kind);
        if kind_matches && self.subtype.eq_ignore_ascii_case(subtype) {
            Some(3)
        } else if kind_matches && self.subtype == "*" {
            Some(2)
        } else if self.kind == "*" && self.subtype == "*" {
            Some(1)
        } else {
            None
        }
    }
}

/// `q` as thousandths: `0`, `0.5`, `1`, `1.000`; anything else makes the entry unreadable.
fn parse_weight(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The weight the most specific matching range gives `kind/subtype`, and whether that range
/// names the type exactly; `None` when no range covers it.
fn weight(ranges: &[MediaRange<'_>], kind: &str, subtype: &str) -> Option<(u16, bool)> {
    ranges
        .iter()
        .filter_map(|range| Some((range.specificity(kind, subtype)?, range.weight)))
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(specificity, weight)| (weight, specificity == 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(accept: Option<&'static str>) -> Result<ResponseMediaType, NotAcceptable> {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        }
        ResponseMediaType::negotiate(&headers)
    }

    #[test]
    fn accept_chooses_the_response_media_type() {
        use ResponseMediaType::{GraphqlResponseJson as New, Json};
        let cases: &[(
            Option<&'static str>,
            Result<ResponseMediaType, NotAcceptable>,
        )] = &[
            (None, Ok(Json)),
            (Some(""), Ok(Json)),
            (Some("*/*"), Ok(Json)),
            (Some("application/*"), Ok(Json)),
            (Some("application/json"), Ok(Json)),
            (Some("application/json; charset=utf-8"), Ok(Json)),
            (Some("application/graphql-response+json"), Ok(New)),
            (
                Some("application/graphql-response+json, application/json;q=0.9"),
                Ok(New),
            ),
            (
                Some("application/json, application/graphql-response+json"),
                Ok(New),
            ),
            (
                Some("application/graphql-response+json;q=0.5, application/json"),
                Ok(Json),
            ),
            (
                Some("application/graphql-response+json, */*;q=0.1"),
                Ok(New),
            ),
            (Some("APPLICATION/Graphql-Response+JSON"), Ok(New)),
            (
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                Ok(Json),
            ),
            (Some("application/json;q=0, */*"), Ok(New)),
            (Some("text/html"), Err(NotAcceptable)),
            (Some("application/xml, text/*"), Err(NotAcceptable)),
            (Some("application/json;q=0"), Err(NotAcceptable)),
            (Some("*/*;q=0"), Err(NotAcceptable)),
        ];
        for (accept, expected) in cases {
            assert_eq!(negotiate(*accept), *expected, "{accept:?}");
        }
    }

    #[test]
    fn weights() {
        assert_eq!(parse_weight("0"), Some(0));
        assert_eq!(parse_weight("0.9"), Some(900));
        assert_eq!(parse_weight("0.001"), Some(1));
        assert_eq!(parse_weight("1"), Some(1000));
        assert_eq!(parse_weight("1.000"), Some(1000));
        assert_eq!(parse_weight("1.5"), None);
        assert_eq!(parse_weight("0.0001"), None);
        assert_eq!(parse_weight("x"), None);
    }
}
