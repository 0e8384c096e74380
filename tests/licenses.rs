//! Every crate built into Custodian is under a permissive licence: the check `cargo deny`
//! makes for licences, from `cargo metadata` and `Cargo.lock` alone, so it runs offline in CI.
//! (Security advisories need the RustSec database, which is fetched: see README, Supply chain.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;

/// Licences that let anyone use, change and ship Custodian, closed or open, without
/// obligations beyond notices.
const ALLOWED: &[&str] = &[
    "0BSD",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "CDLA-Permissive-2.0",
    "ISC",
    "MIT",
    "MIT-0",
    // webauthn-rs (passkeys). The MPL's copyleft is per file: it covers changes to the
    // library's own files, not the code that uses it. Used unchanged, it asks nothing of
    // Custodian's code beyond keeping its notices.
    "MPL-2.0",
    "Unicode-3.0",
    "Unlicense",
    "Zlib",
];

/// Whether an SPDX expression (`A OR B`, `A AND B`, `A WITH exception`, parentheses, and the
/// old `A/B`) leaves a way to comply with allowed licences only. A malformed one does not.
fn acceptable(expression: &str) -> bool {
    let spaced = expression
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut position = 0;
    any_of(&tokens, &mut position) == Some(true) && position == tokens.len()
}

/// `all_of (OR all_of)*`; `None` when malformed.
fn any_of(tokens: &[&str], position: &mut usize) -> Option<bool> {
    let mut verdict = all_of(tokens, position)?;
    while tokens.get(*position) == Some(&"OR") {
        *position += 1;
        verdict |= all_of(tokens, position)?;
    }
    Some(verdict)
}

/// `one (AND one)*`
fn all_of(tokens: &[&str], position: &mut usize) -> Option<bool> {
    let mut verdict = one(tokens, position)?;
    while tokens.get(*position) == Some(&"AND") {
        *position += 1;
        verdict &= one(tokens, position)?;
    }
    Some(verdict)
}

/// `( any_of )` or `licence [WITH exception]`
fn one(tokens: &[&str], position: &mut usize) -> Option<bool> {
    let token = *tokens.get(*position)?;
    *position += 1;
    if token == "(" {
        let verdict = any_of(tokens, position)?;
        (tokens.get(*position) == Some(&")")).then_some(())?;
        *position += 1;
        return Some(verdict);
    }
    if tokens.get(*position) == Some(&"WITH") {
        tokens.get(*position + 1)?;
        *position += 2;
    }
    Some(ALLOWED.contains(&token))
}

#[test]
fn the_expression_reader_is_right() {
    assert!(acceptable("MIT OR Apache-2.0"));
    assert!(acceptable("MIT/Apache-2.0"));
    assert!(acceptable("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(acceptable("Apache-2.0 WITH LLVM-exception OR MIT"));
    assert!(acceptable("GPL-3.0 OR MIT"));
    assert!(!acceptable("GPL-3.0"));
    assert!(!acceptable("MIT AND GPL-3.0"));
    assert!(!acceptable("(MIT OR Apache-2.0) AND AGPL-3.0"));
    assert!(!acceptable("MIT OR"));
}

#[test]
fn every_dependency_is_permissively_licensed() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--offline",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let built: Vec<&str> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].as_str().unwrap())
        .collect();
    let mut refused = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        let ours = package["source"].is_null();
        if ours || !built.contains(&package["id"].as_str().unwrap()) {
            continue;
        }
        let license = package["license"].as_str().unwrap_or("none stated");
        if !acceptable(license) {
            refused.push(format!(
                "{} {}: {license}",
                package["name"], package["version"]
            ));
        }
    }
    assert!(
        refused.is_empty(),
        "not permissively licensed:\n{}",
        refused.join("\n")
    );
    assert!(built.len() > 100, "the dependency tree was read");
}
