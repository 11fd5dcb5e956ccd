//! The layers of `src/`, checked from the code: every `crate::` path a module writes points to
//! its own layer or one below, and the folders form no circle. The drawn graph in
//! `docs/import-graph.md` is generated from the same scan, so it cannot drift from the code:
//! after a change of imports, `HRBRIDGE_UPDATE_GRAPH=1 cargo test --test it layers` redraws
//! it (never under `CI=true`, where a stale drawing fails).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers from the ground floor up; a module may use its own layer and those below.
const LAYERS: &[(&str, &[&str])] = &[
    ("ground floor", &["kernel"]),
    ("installation and state", &["settings", "store"]),
    ("profile language", &["profile"]),
    ("transport", &["sftp"]),
    (
        "components",
        &[
            "source",
            "format",
            "transform",
            "output",
            "lifecycle",
            "privacy",
        ],
    ),
    ("engine", &["engine"]),
    ("long-running services", &["daemon", "tui", "standin"]),
    ("command line", &["cli"]),
];

const GRAPH: &str = "docs/import-graph.md";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// `from → to → how many paths`, between different top-level modules.
type Graph = BTreeMap<String, BTreeMap<String, usize>>;

/// Every `crate::` path of every file under `src/`, by the top-level module it is in and the
/// one it names; with the file and line of each, for messages.
struct Scan {
    graph: Graph,
    sites: BTreeMap<(String, String), Vec<String>>,
}

fn scan() -> Scan {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut scan = Scan {
        graph: Graph::new(),
        sites: BTreeMap::new(),
    };
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.len() == 1 && (parts[0] == "lib.rs" || parts[0] == "main.rs") {
            continue; // the map and the entry point name every module by design
        }
        let last = parts.pop().unwrap();
        let stem = last.trim_end_matches(".rs").to_string();
        if stem != "mod" {
            parts.push(stem);
        }
        let from = parts[0].clone();
        let text = fs::read_to_string(&file).unwrap();
        for (line, to) in crate_paths(&code_only(&text), parts.len()) {
            if to == from {
                continue;
            }
            *scan
                .graph
                .entry(from.clone())
                .or_default()
                .entry(to.clone())
                .or_default() += 1;
            scan.sites
                .entry((from.clone(), to))
                .or_default()
                .push(format!("src/{}:{line}", rel.display()));
        }
    }
    scan
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` with comments, string literals and char literals blanked out (newlines kept, so
/// line numbers stay right).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_at(&chars, i) {
            // r"..", r#".."#, br".." : ends at a quote followed by the same number of #.
            let open = i + usize::from(c == 'b') + 1 + hashes + 1;
            out.extend(chars[i..open].iter().map(|_| ' '));
            i = open;
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#'));
                if closes {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'), or a lifetime, which stays.
            let end = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&ch| ch == '\'')
                    .map(|p| i + 2 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The number of `#` of a raw string literal starting at `i`, if one does.
fn raw_string_at(chars: &[char], i: usize) -> Option<usize> {
    let ident_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if ident_before {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some(hashes)
}

/// The top-level modules `code` names, with the line of each: `crate::a::..`,
/// `crate::{a, b::c}`, and `super::` chains that climb out of a file `depth` modules deep
/// (inline `mod x { .. }` blocks, such as tests, count as one level more).
fn crate_paths(code: &str, depth: usize) -> Vec<(usize, String)> {
    let words = tokens(code);
    let word = |k: usize| words.get(k).map(|(_, w)| w.as_str());
    let mut found = Vec::new();
    // The brace nesting at which each open inline module began.
    let mut inline: Vec<usize> = Vec::new();
    let mut braces = 0;
    let mut k = 0;
    while k < words.len() {
        let (line, w) = &words[k];
        let at = match w.as_str() {
            "{" => {
                braces += 1;
                None
            }
            "}" => {
                braces -= 1;
                if inline.last() == Some(&braces) {
                    inline.pop();
                }
                None
            }
            "mod" if word(k + 2) == Some("{") => {
                inline.push(braces);
                None
            }
            "crate" if word(k + 1) == Some("::") => Some(k + 2),
            "super" => {
                let mut j = k;
                while word(j) == Some("super") && word(j + 1) == Some("::") {
                    j += 2;
                }
                let climbs = (j - k) / 2;
                let out = climbs > 0 && climbs >= depth + inline.len();
                k = j.max(k + 1) - 1;
                out.then_some(j)
            }
            _ => None,
        };
        if let Some(at) = at {
            for module in heads(&words, at) {
                found.push((*line, module));
            }
        }
        k += 1;
    }
    found
}

/// The first name of each path at `words[at..]`: one name, or each item of a `{..}` group.
fn heads(words: &[(usize, String)], at: usize) -> Vec<String> {
    match words.get(at).map(|(_, w)| w.as_str()) {
        Some("{") => {
            let mut names = Vec::new();
            let mut nesting = 0;
            let mut expect_name = true;
            for (_, w) in &words[at + 1..] {
                match w.as_str() {
                    "{" => nesting += 1,
                    "}" if nesting == 0 => break,
                    "}" => nesting -= 1,
                    "," if nesting == 0 => expect_name = true,
                    w if expect_name && nesting == 0 && is_name(w) => {
                        names.push(w.to_string());
                        expect_name = false;
                    }
                    _ => {}
                }
            }
            names
        }
        Some(w) if is_name(w) => vec![w.to_string()],
        _ => Vec::new(),
    }
}

fn is_name(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && w != "self"
}

/// Names, `::`, and single punctuation characters of `code`, each with its line.
fn tokens(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_alphanumeric() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((n + 1, chars[start..i].iter().collect()));
            } else if c == ':' && chars.get(i + 1) == Some(&':') {
                out.push((n + 1, "::".to_string()));
                i += 2;
            } else {
                if !c.is_whitespace() {
                    out.push((n + 1, c.to_string()));
                }
                i += 1;
            }
        }
    }
    out
}

/// The top-level modules `src/lib.rs` declares.
fn declared_modules() -> BTreeSet<String> {
    let lib = fs::read_to_string(root().join("src/lib.rs")).unwrap();
    code_only(&lib)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect()
}

/// The graph as a mermaid flowchart, layers as boxes from the ground floor up.
fn mermaid(graph: &Graph) -> String {
    let mut out = String::from(
        "# Import graph of src/\n\nGenerated by `tests/it/layers.rs` from the code; an arrow \
         `a --> b` means modules in `src/a` use `crate::b` (the number: how many paths). Layers \
         run from the ground floor (bottom) up; every arrow points down or within a layer.\n\n\
         ```mermaid\nflowchart BT\n",
    );
    for (n, (title, mods)) in LAYERS.iter().enumerate().rev() {
        out.push_str(&format!("  subgraph L{n}[\"{n} {title}\"]\n"));
        for m in *mods {
            out.push_str(&format!("    {m}\n"));
        }
        out.push_str("  end\n");
    }
    for (from, tos) in graph {
        for (to, count) in tos {
            out.push_str(&format!("  {from} -->|{count}| {to}\n"));
        }
    }
    out.push_str("```\n");
    out
}

#[test]
fn every_import_points_down_a_layer() {
    let scan = scan();
    let mut uphill = Vec::new();
    for (from, tos) in &scan.graph {
        for to in tos.keys() {
            let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
                continue; // every_top_level_module_has_a_layer names it
            };
            if b > a {
                let sites = &scan.sites[&(from.clone(), to.clone())];
                uphill.push(format!(
                    "{from} (layer {a}) uses {to} (layer {b}) at {sites:?}"
                ));
            }
        }
    }
    assert!(
        uphill.is_empty(),
        "imports up a layer:\n{}",
        uphill.join("\n")
    );
}

#[test]
fn the_folders_form_no_circle() {
    let graph = scan().graph;
    // Repeatedly take away a module that uses nothing left; what stays is on a circle or uses one.
    let mut left: BTreeSet<&String> = graph
        .keys()
        .chain(graph.values().flat_map(|t| t.keys()))
        .collect();
    loop {
        let leaf = left
            .iter()
            .find(|m| {
                graph
                    .get(**m)
                    .is_none_or(|tos| tos.keys().all(|t| !left.contains(t)))
            })
            .copied();
        match leaf {
            Some(m) => {
                left.remove(m);
            }
            None => break,
        }
    }
    assert!(
        left.is_empty(),
        "modules on a circle of imports, or using one: {left:?}"
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let declared = declared_modules();
    let layered: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|(_, mods)| mods.iter().map(|m| m.to_string()))
        .collect();
    assert_eq!(declared, layered, "src/lib.rs's modules against LAYERS");
    let graph = scan().graph;
    let named: BTreeSet<&String> = graph.values().flat_map(|tos| tos.keys()).collect();
    let unknown: Vec<_> = named
        .into_iter()
        .filter(|m| !declared.contains(*m))
        .collect();
    assert!(
        unknown.is_empty(),
        "crate paths to no top-level module: {unknown:?}"
    );
}

#[test]
fn the_drawn_graph_is_the_graph_of_the_code() {
    let drawn = mermaid(&scan().graph);
    let path = root().join(GRAPH);
    let on_disk = fs::read_to_string(&path).unwrap_or_default();
    let update = std::env::var_os("HRBRIDGE_UPDATE_GRAPH").is_some()
        && std::env::var("CI").map_or(true, |v| v != "true");
    if update && on_disk != drawn {
        fs::write(&path, &drawn).unwrap();
        return;
    }
    assert_eq!(
        on_disk, drawn,
        "{GRAPH} is stale: redraw it with HRBRIDGE_UPDATE_GRAPH=1 cargo test --test it layers"
    );
}

#[test]
fn the_scanner_sees_code_not_comments_or_strings() {
    let code = r##"
use crate::kernel::mask;
use crate::{store::Store, profile::{KeyPath, Problem}, self};
// use crate::tui;
/* use crate::daemon; /* nested */ use crate::cli; */
let s = "crate::engine";
let r = r#"crate::standin " still inside"#;
let c = '"'; let l: &'static str = x; use crate::output;
fn f() { super::super::sftp::login(); super::here(); }
mod tests { use super::super::Sibling; use super::super::super::store; }
"##;
    let found: Vec<(usize, String)> = crate_paths(&code_only(code), 2);
    let names: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    // In the inline module, two `super::` only reach the file's parent; three leave the crate.
    assert_eq!(
        names,
        ["kernel", "store", "profile", "output", "sftp", "store"]
    );
    assert_eq!(found[3].0, 8, "lines are kept");
    // From a file one module deep, a single `super::` already reaches the crate root.
    let names: Vec<String> = crate_paths("super::here();", 1)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(names, ["here"]);
}
