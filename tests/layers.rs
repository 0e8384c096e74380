//! Architecture rules, checked by reading `src/`: imports point down the layers, and no source
//! file reaches itself again through its imports. A rule that lives only in people's heads
//! erodes one convenient import at a time; this test names each one as it appears.
//!
//! Imports are found by a small hand parser: comments are removed, then every path that starts
//! inside the crate (`crate::`, `super::`, `self::`, a declared child module, or a module brought
//! into scope by `use`) is resolved to the file that defines it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    fs,
    path::{Path, PathBuf},
};

/// The layer of each top-level area of `src/`: a folder (`services/`) or a file (`state.rs`),
/// named without `.rs`. A new top-level module fails the test until it is placed here.
const AREAS: &[(&str, &str)] = &[
    ("http", "edge"),
    ("graphql", "edge"),
    ("cli", "edge"),
    ("main", "edge"),
    ("startup", "edge"),
    ("telemetry", "edge"),
    ("lib", "edge"),
    ("services", "use cases"),
    ("db", "storage"),
    ("domain", "domain"),
    ("crypto", "side"),
    ("cache", "side"),
    ("mail", "side"),
    ("limits", "side"),
    ("metrics", "side"),
    ("config", "base"),
    ("error", "base"),
    ("clock", "base"),
    ("state", "state"),
];

/// What each layer may import: whole layers, or single areas of another layer (`crypto`). An
/// area may always import its own files.
///
/// Arrows only point down: edge → use cases → domain and storage; use cases and storage →
/// side services (crypto, mail, limits, metrics); use cases → the state that wires them, which
/// names the rows its caches hold. Nothing below imports
/// anything above, so each layer can be read, tested and changed without the ones on top of
/// it, and a change at the edge never ripples into the business rules.
const MAY_IMPORT: &[(&str, &[&str])] = &[
    (
        "edge",
        &[
            "edge",
            "use cases",
            "storage",
            "domain",
            "side",
            "base",
            "state",
        ],
    ),
    (
        "use cases",
        &["use cases", "storage", "domain", "side", "base", "state"],
    ),
    ("storage", &["storage", "domain", "side", "base"]),
    ("domain", &["domain", "base"]),
    ("side", &["side", "base", "domain"]),
    ("base", &["base", "domain"]),
    ("state", &["side", "base", "domain", "storage"]),
];

/// Every import stays in its area or reaches down to a layer that `MAY_IMPORT` allows, and
/// every area is placed in the table.
#[test]
fn imports_point_down() {
    let files = source_files();
    let known = paths_of(&files);
    let layer_of: BTreeMap<&str, &str> = AREAS.iter().copied().collect();
    let may_import: BTreeMap<&str, &[&str]> = MAY_IMPORT.iter().copied().collect();

    let mut violations = BTreeSet::new();
    for (layer, allowed) in MAY_IMPORT {
        for name in *allowed {
            if !may_import.contains_key(name) && !layer_of.contains_key(name) {
                violations.insert(format!(
                    "MAY_IMPORT[{layer}] names `{name}`, which is neither a layer nor an area"
                ));
            }
        }
    }
    for file in &files {
        let area = area_of(&file.path);
        let Some(&layer) = layer_of.get(area) else {
            violations.insert(format!(
                "area `{area}` is not in the layer table: add it to AREAS at the top of \
                 tests/layers.rs"
            ));
            continue;
        };
        let Some(&allowed) = may_import.get(layer) else {
            violations.insert(format!("layer `{layer}` has no entry in MAY_IMPORT"));
            continue;
        };
        for import in imports_of(file, &known) {
            let target_area = area_of(&import.target);
            // A target outside the table is reported once, for its own files.
            let Some(&target_layer) = layer_of.get(target_area) else {
                continue;
            };
            let permitted = target_area == area
                || allowed.contains(&target_layer)
                || allowed.contains(&target_area);
            if !permitted {
                violations.insert(format!(
                    "{} imports {target_area} ({target_layer}) but {area} is {layer}: {layer} may \
                     import {}",
                    file.path,
                    allowed.join(", ")
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports that point up a layer (rules: AREAS and MAY_IMPORT in tests/layers.rs):\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Files on an import loop can only be understood, tested and moved together; a loop is also
/// how an upward import hides inside one layer.
#[test]
fn no_import_loops() {
    let files = source_files();
    let known = paths_of(&files);
    let graph: Graph = files
        .iter()
        .filter(|file| !is_crate_root(&file.path))
        .map(|file| {
            let targets = imports_of(file, &known)
                .into_iter()
                .map(|import| import.target)
                .filter(|target| !is_crate_root(target) && !is_ancestor_mod(&file.path, target))
                .collect();
            (file.path.clone(), targets)
        })
        .collect();
    let loops: Vec<String> = import_loops(&graph)
        .iter()
        .map(|files| format!("import loop: {}", files.join(" -> ")))
        .collect();
    assert!(
        loops.is_empty(),
        "files that import themselves through others (move what they share into a module \
         both can import):\n{}",
        loops.join("\n")
    );
}

/// A Rust source file under `src/`, ready to scan.
struct SourceFile {
    /// From the manifest folder, with `/`: `src/services/auth.rs`.
    path: String,
    /// The code without comments and without its `#[cfg(test)] mod tests`.
    code: String,
}

/// One crate-internal import of a file.
struct Import {
    /// The file that defines what is imported: `src/services/auth.rs`.
    target: String,
    /// What is imported, from the crate root: `services::auth::open_session`.
    path: String,
}

/// Files and the files they import, without the crate roots.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Names a file can start a crate-internal path with, each bound to a module path from the
/// crate root: its declared children (`mod x;`) and the modules it brings in with `use`.
type Scope = BTreeMap<String, Vec<String>>;

/// Every `.rs` file under `src/`, sorted by path.
fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect_rust_files(&root.join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            let relative = path
                .strip_prefix(root)
                .expect("a file under the manifest folder");
            let segments: Vec<_> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect();
            SourceFile {
                path: segments.join("/"),
                code: without_unit_tests(&strip_comments(&text)),
            }
        })
        .collect()
}

/// Adds every `.rs` file under `dir`, at any depth, to `out`.
fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The paths of `files`, to resolve imports against.
fn paths_of(files: &[SourceFile]) -> BTreeSet<String> {
    files.iter().map(|file| file.path.clone()).collect()
}

/// The top-level area of a file: `src/services/auth.rs` is in `services`, `src/state.rs` in
/// `state`.
fn area_of(path: &str) -> &str {
    let inside = path.strip_prefix("src/").unwrap_or(path);
    let first = inside.split('/').next().unwrap_or(inside);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// `lib.rs` and `main.rs` declare every area, so every area is "imported" by them; they are
/// left out of the loop graph.
fn is_crate_root(path: &str) -> bool {
    path == "src/lib.rs" || path == "src/main.rs"
}

/// The module a file defines, from the crate root: `src/services/auth.rs` and
/// `src/services/auth/mod.rs` are both `services::auth`; the crate roots are the empty path.
fn module_of(path: &str) -> Vec<String> {
    let inside = path.strip_prefix("src/").unwrap_or(path);
    let inside = inside.strip_suffix(".rs").unwrap_or(inside);
    let mut segments: Vec<String> = inside.split('/').map(String::from).collect();
    if segments.last().is_some_and(|last| last == "mod") {
        segments.pop();
    }
    if segments == ["lib"] || segments == ["main"] {
        segments.clear();
    }
    segments
}

/// Whether `target` is the `mod.rs` of a module that contains `file`: a child using what its
/// parent shares (`use super::ClientInfo`). A `mod.rs` declares and re-exports its children, so
/// counting the child's arrow back would turn every such use into a loop.
fn is_ancestor_mod(file: &str, target: &str) -> bool {
    target
        .strip_suffix("mod.rs")
        .is_some_and(|dir| file != target && file.starts_with(dir))
}

/// The source with comments blanked (newlines kept), so paths in doc comments and
/// commented-out code are not taken for imports. String and character literals are kept (a
/// path in an attribute string is a real use) but walked over as a whole, so that `//` inside
/// `"https://…"` does not start a comment and `'"'` does not start a string.
fn strip_comments(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        if let Some(len) = comment_len(rest) {
            out.extend(
                rest[..len]
                    .iter()
                    .map(|&c| if c == '\n' { '\n' } else { ' ' }),
            );
            i += len;
        } else {
            let len = token_len(rest);
            out.extend(&rest[..len]);
            i += len;
        }
    }
    out
}

/// The length of the `//` or (nested) `/* */` comment at the start of `text`, if there is one.
fn comment_len(text: &[char]) -> Option<usize> {
    match text {
        ['/', '/', ..] => Some(text.iter().position(|&c| c == '\n').unwrap_or(text.len())),
        ['/', '*', ..] => {
            let mut depth = 0;
            let mut i = 0;
            while i < text.len() {
                match &text[i..] {
                    ['/', '*', ..] => (depth, i) = (depth + 1, i + 2),
                    ['*', '/', ..] if depth == 1 => return Some(i + 2),
                    ['*', '/', ..] => (depth, i) = (depth - 1, i + 2),
                    _ => i += 1,
                }
            }
            Some(text.len())
        }
        _ => None,
    }
}

/// The length of what starts `text` and must be copied whole: a string, raw string or
/// character literal, or an identifier (so `br"…"` is seen from its start); else one
/// character (a lifetime's `'` among them).
fn token_len(text: &[char]) -> usize {
    match text {
        ['"', ..] => 1 + quoted_len(&text[1..]),
        ['\'', '\\', _, rest @ ..] => {
            3 + rest
                .iter()
                .position(|&c| c == '\'')
                .map_or(rest.len(), |end| end + 1)
        }
        ['\'', _, '\'', ..] => 3,
        [c, ..] if is_ident_char(*c) => {
            let ident = text.iter().take_while(|&&c| is_ident_char(c)).count();
            let is_raw_prefix = matches!(&text[..ident], ['r'] | ['b', 'r'] | ['c', 'r']);
            match raw_string_len(&text[ident..]) {
                Some(len) if is_raw_prefix => ident + len,
                _ => ident,
            }
        }
        _ => 1,
    }
}

/// The length of an ordinary string's body and closing quote, escapes skipped.
fn quoted_len(body: &[char]) -> usize {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    body.len()
}

/// The length of `#…#"…"#…#` after a raw string's `r`, or `None` if no raw string follows
/// (a raw identifier such as `r#type`).
fn raw_string_len(text: &[char]) -> Option<usize> {
    let hashes = text.iter().take_while(|&&c| c == '#').count();
    if text.get(hashes) != Some(&'"') {
        return None;
    }
    let body = hashes + 1;
    let closing = (body..text.len()).find(|&i| {
        text[i] == '"'
            && text[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
    });
    Some(closing.map_or(text.len(), |i| i + 1 + hashes))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Cuts the code at `#[cfg(test)]` followed by `mod tests`: unit tests may import anything, and
/// their `super::` means the file itself, not its parent.
fn without_unit_tests(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let starts_tests = |i: usize| {
        lines[i].trim() == "#[cfg(test)]"
            && lines[i + 1..]
                .iter()
                .map(|line| line.trim())
                .find(|line| !line.is_empty())
                .is_some_and(|next| next.starts_with("mod tests"))
    };
    let cut = (0..lines.len())
        .find(|&i| starts_tests(i))
        .unwrap_or(lines.len());
    lines[..cut].join("\n")
}

/// A word, a `::`, or any other single character of the code.
#[derive(PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

fn tokenize(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match &chars[i..] {
            [c, ..] if is_ident_char(*c) => {
                let len = chars[i..].iter().take_while(|&&c| is_ident_char(c)).count();
                tokens.push(Token::Ident(chars[i..i + len].iter().collect()));
                i += len;
            }
            [':', ':', ..] => {
                tokens.push(Token::PathSep);
                i += 2;
            }
            [c, ..] => {
                if !c.is_whitespace() {
                    tokens.push(Token::Punct(*c));
                }
                i += 1;
            }
            [] => break,
        }
    }
    tokens
}

fn is_word(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Ident(name)) if name == word)
}

/// A path as written in the code, expanded out of its use tree: `use crate::{a::b, c::{self as
/// d}}` gives `crate::a::b`, binding `b`, and `crate::c`, binding `d`.
struct WrittenPath {
    segments: Vec<String>,
    /// The name a `use` brings into scope; `None` outside `use`, for globs and for `as _`.
    binds: Option<String>,
}

/// Every path in `tokens`, use trees expanded, in source order. A path starts at a word that
/// does not follow `::` or `.` and is followed by `::`; paths that do not start in the crate
/// (`std::…`, `Self::…`) are among them and are dropped when resolved.
fn written_paths(tokens: &[Token]) -> Vec<WrittenPath> {
    let mut paths = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // After `::` a word continues a path (`<T as Trait>::x`); after `.` it is a method
        // (`.collect::<T>()`).
        let continues = i > 0 && matches!(tokens[i - 1], Token::PathSep | Token::Punct('.'));
        let starts_path = matches!(tokens[i], Token::Ident(_))
            && tokens.get(i + 1) == Some(&Token::PathSep)
            && !continues;
        if !starts_path {
            i += 1;
            continue;
        }
        let in_use = i > 0 && is_word(tokens.get(i - 1), "use");
        let mut tree = Vec::new();
        i = parse_tree(tokens, i, &[], &mut tree);
        paths.extend(tree.into_iter().map(|path| WrittenPath {
            binds: path.binds.filter(|_| in_use),
            ..path
        }));
    }
    paths
}

/// Parses the path or use tree at `tokens[start]`, pushing each leaf onto `out` with `prefix`
/// in front. Returns the index after it, or `start` if no path starts there.
fn parse_tree(
    tokens: &[Token],
    start: usize,
    prefix: &[String],
    out: &mut Vec<WrittenPath>,
) -> usize {
    let mut segments = prefix.to_vec();
    let mut i = start;
    loop {
        match tokens.get(i) {
            Some(Token::Ident(name)) => {
                segments.push(name.clone());
                i += 1;
            }
            Some(Token::Punct('*')) => {
                out.push(WrittenPath {
                    segments,
                    binds: None,
                });
                return i + 1;
            }
            Some(Token::Punct('{')) => return parse_group(tokens, i + 1, &segments, out),
            _ if i == start => return start,
            // `Vec::<T>`: the path ends before the generics.
            _ => break,
        }
        if tokens.get(i) != Some(&Token::PathSep) {
            break;
        }
        i += 1;
    }
    let mut binds = segments.last().cloned();
    if binds.as_deref() == Some("self") {
        segments.pop();
        binds = segments.last().cloned();
    }
    if is_word(tokens.get(i), "as") {
        binds = match tokens.get(i + 1) {
            Some(Token::Ident(name)) if name != "_" => Some(name.clone()),
            _ => None,
        };
        i += 2;
    }
    out.push(WrittenPath { segments, binds });
    i
}

/// Parses the items of a `{ … }` group from `tokens[i]`, each with `prefix` in front. Returns
/// the index after the closing brace.
fn parse_group(
    tokens: &[Token],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<WrittenPath>,
) -> usize {
    while let Some(token) = tokens.get(i) {
        match token {
            Token::Punct('}') => return i + 1,
            Token::Punct(',') => i += 1,
            _ => i = parse_tree(tokens, i, prefix, out).max(i + 1),
        }
    }
    i
}

/// The crate-internal imports of `file`, resolved against the `files` of the crate. Paths
/// through a module the file brought into scope count as imports of the file they reach:
/// after `use crate::db`, `db::accounts::find` imports `src/db/accounts.rs`.
fn imports_of(file: &SourceFile, files: &BTreeSet<String>) -> Vec<Import> {
    let module = module_of(&file.path);
    let tokens = tokenize(&file.code);
    let mut scope = Scope::new();
    for window in tokens.windows(3) {
        if let [
            Token::Ident(keyword),
            Token::Ident(child),
            Token::Punct(';'),
        ] = window
            && keyword == "mod"
        {
            scope.insert(
                child.clone(),
                [module.clone(), vec![child.clone()]].concat(),
            );
        }
    }
    let paths = written_paths(&tokens);
    for path in &paths {
        if let Some(name) = &path.binds
            && let Some(target) = absolute(&path.segments, &module, &scope)
            && defining_file(&target, files).1 == target.len()
        {
            scope.insert(name.clone(), target);
        }
    }
    paths
        .iter()
        .filter_map(|path| {
            let target = absolute(&path.segments, &module, &scope)?;
            let (defining, _) = defining_file(&target, files);
            (defining != file.path).then(|| Import {
                target: defining,
                path: target.join("::"),
            })
        })
        .collect()
}

/// `path`, written in `module`, from the crate root; `None` if it does not start in the crate.
/// `super` is the parent of `module` (for `src/a/b.rs` and `src/a/b/mod.rs` alike, `a`).
fn absolute(path: &[String], module: &[String], scope: &Scope) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let supers = path
        .iter()
        .take_while(|segment| *segment == "super")
        .count();
    let base = match first.as_str() {
        "crate" => Vec::new(),
        // `main.rs` reaches the library by its name.
        name if name == env!("CARGO_PKG_NAME").replace('-', "_") => Vec::new(),
        "self" => module.to_vec(),
        "super" => {
            let kept = module.len().checked_sub(supers)?;
            return Some([&module[..kept], &path[supers..]].concat());
        }
        name => scope.get(name)?.clone(),
    };
    Some([base.as_slice(), rest].concat())
}

/// The file that defines the deepest module on `path`, and how many of its segments are
/// modules. Segment `s` under folder `d` is `d/s.rs` or `d/s/mod.rs`; the first segment that is
/// neither is an item of the module before it.
fn defining_file(path: &[String], files: &BTreeSet<String>) -> (String, usize) {
    let mut dir = String::from("src");
    let mut file = String::from("src/lib.rs");
    for (depth, segment) in path.iter().enumerate() {
        let flat = format!("{dir}/{segment}.rs");
        let nested = format!("{dir}/{segment}/mod.rs");
        if files.contains(&flat) {
            file = flat;
        } else if files.contains(&nested) {
            file = nested;
        } else {
            return (file, depth);
        }
        dir = format!("{dir}/{segment}");
    }
    (file, path.len())
}

/// A shortest loop through every file that is on one, each written from its alphabetically
/// first file back to it; loops found from several of their files appear once.
fn import_loops(graph: &Graph) -> BTreeSet<Vec<String>> {
    graph
        .keys()
        .filter_map(|start| shortest_loop(graph, start))
        .map(|mut files| {
            files.pop();
            let first = (0..files.len()).min_by_key(|&i| &files[i]).unwrap_or(0);
            files.rotate_left(first);
            files.push(files[0].clone());
            files
        })
        .collect()
}

/// The shortest chain of imports from `start` back to `start`, both ends included, found
/// breadth first.
fn shortest_loop(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut reached_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(file) = queue.pop_front() {
        for next in graph.get(file).into_iter().flatten() {
            if next == start {
                let mut chain = vec![start.to_string(), file.to_string()];
                let mut at = file;
                while let Some(&previous) = reached_from.get(at) {
                    chain.push(previous.to_string());
                    at = previous;
                }
                chain.reverse();
                return Some(chain);
            }
            if !reached_from.contains_key(next.as_str()) {
                reached_from.insert(next, file);
                queue.push_back(next);
            }
        }
    }
    None
}

#[test]
fn use_trees_expand_groups_self_renames_and_globs() {
    let code = "use crate::{a::b, c::{d, e::F as G}, db::{self, x}, h::{self as k, *}, i::T as _};";
    let paths: Vec<(String, Option<String>)> = written_paths(&tokenize(code))
        .into_iter()
        .map(|path| (path.segments.join("::"), path.binds))
        .collect();
    let expected = [
        ("crate::a::b", Some("b")),
        ("crate::c::d", Some("d")),
        ("crate::c::e::F", Some("G")),
        ("crate::db", Some("db")),
        ("crate::db::x", Some("x")),
        ("crate::h", Some("k")),
        ("crate::h", None),
        ("crate::i::T", None),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(path, binds)| (path.to_string(), binds.map(String::from)))
        .collect();
    assert_eq!(paths, expected);
}

#[test]
fn comments_are_skipped_and_code_and_strings_are_read() {
    let code = r##"
        //! crate::doc::comment
        /// crate::doc::comment
        /* crate::block /* crate::nested */ still::comment */
        use std::{sync::Arc, io::{self, Write}};
        #[graphql(guard = "Limit::login(&input.email)")]
        fn f() -> Vec::<u8> {
            let url = "https://example.com"; let quote = '"'; let tick = '\'';
            let raw = r#"crate::in_raw "quoted" "#; // crate::trailing
            let bytes = raw.bytes().collect::<Vec<u8>>();
            crate::crypto::hmac(url, Self::X, <T as Trait>::y::z)
        }
        #[cfg(test)]
        mod tests {
            use crate::anything;
        }
    "##;
    let paths: Vec<String> = written_paths(&tokenize(&without_unit_tests(&strip_comments(code))))
        .into_iter()
        .map(|path| path.segments.join("::"))
        .collect();
    let expected = [
        "std::sync::Arc",
        "std::io",
        "std::io::Write",
        "Limit::login",
        "Vec",
        "crate::in_raw",
        "crate::crypto::hmac",
        "Self::X",
    ];
    assert_eq!(paths, expected);
}

#[test]
fn paths_resolve_to_the_file_that_defines_them() {
    let files: BTreeSet<String> = [
        "src/lib.rs",
        "src/db/mod.rs",
        "src/db/accounts.rs",
        "src/services/mod.rs",
        "src/services/auth.rs",
        "src/services/audit/mod.rs",
        "src/services/audit/chain.rs",
    ]
    .map(String::from)
    .into();
    let audit = SourceFile {
        path: "src/services/audit/mod.rs".into(),
        code: "
            mod chain;
            pub use chain::verify;
            use super::{ClientInfo, auth::open_session};
            use crate::db::{self as store, accounts::Model as Account};
            fn f() { store::accounts::find(); self::chain::x(); crate::Root; crate::services::audit::Event; }
        "
        .into(),
    };
    let chain = SourceFile {
        path: "src/services/audit/chain.rs".into(),
        code: "use super::{super::auth::open_session, Event};".into(),
    };
    let found = |file: &SourceFile| -> Vec<(String, String)> {
        imports_of(file, &files)
            .into_iter()
            .map(|import| (import.target, import.path))
            .collect()
    };
    let expected = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(target, path)| (target.to_string(), path.to_string()))
            .collect()
    };
    assert_eq!(
        found(&audit),
        expected(&[
            (
                "src/services/audit/chain.rs",
                "services::audit::chain::verify"
            ),
            ("src/services/mod.rs", "services::ClientInfo"),
            ("src/services/auth.rs", "services::auth::open_session"),
            ("src/db/mod.rs", "db"),
            ("src/db/accounts.rs", "db::accounts::Model"),
            ("src/db/accounts.rs", "db::accounts::find"),
            ("src/services/audit/chain.rs", "services::audit::chain::x"),
            ("src/lib.rs", "Root"),
        ])
    );
    assert_eq!(
        found(&chain),
        expected(&[
            ("src/services/auth.rs", "services::auth::open_session"),
            ("src/services/audit/mod.rs", "services::audit::Event"),
        ])
    );
    assert!(is_ancestor_mod(
        "src/services/audit/chain.rs",
        "src/services/audit/mod.rs"
    ));
    assert!(is_ancestor_mod(
        "src/services/audit/mod.rs",
        "src/services/mod.rs"
    ));
    assert!(!is_ancestor_mod(
        "src/services/mod.rs",
        "src/services/audit/mod.rs"
    ));
}

#[test]
fn loops_are_reported_once_from_their_first_file() {
    let edges = [("c", "a"), ("a", "b"), ("b", "c"), ("b", "d")];
    let mut graph = Graph::new();
    for (from, to) in edges {
        graph.entry(from.into()).or_default().insert(to.into());
    }
    let loops: Vec<Vec<String>> = import_loops(&graph).into_iter().collect();
    assert_eq!(loops, [["a", "b", "c", "a"].map(String::from)]);
}
