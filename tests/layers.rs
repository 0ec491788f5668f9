//! The layer rule of `src/lib.rs`, checked on the sources: a module imports
//! only from its own layer or below, no files import each other in a
//! circle, and no file grows past 500 lines. A plain scan of the paths the
//! code names (`crate::`, `super::`, a child module's), enough for code that
//! names its imports that way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the bottom; a top-level module not listed is an error.
const LAYERS: &[&[&str]] = &[
    &[
        "clock",
        "config",
        "auth",
        "oidc",
        "store",
        "templates",
        "telemetry",
    ],
    &["app"],
    &["service"],
    &["http"],
    &["server", "cli", "demo"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// A source file: its module path (`["http", "login", "mod"]` is `http::login`).
struct Source {
    path: String,
    module: Vec<String>,
    text: String,
}

fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn sources(root: &Path) -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|n| n != "main.rs"))
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            Source {
                path: format!("src/{}", relative.display()),
                module: module_of(&relative),
                text: std::fs::read_to_string(&path).unwrap(),
            }
        })
        .collect()
}

/// The paths a file names from the crate's root (outside comments), each as
/// its segments and the line it is on: `crate::` paths, and where `module`
/// is given, `super::` paths and paths into its `children` made absolute;
/// `crate::{a, b::c}` gives one path per item.
fn imports_of(module: Option<(&[String], &[String])>, text: &str) -> Vec<(Vec<String>, usize)> {
    let mut roots: Vec<(String, Vec<String>)> = vec![("crate::".into(), Vec::new())];
    if let Some((module, children)) = module {
        roots.push((
            "super::".into(),
            module[..module.len().saturating_sub(1)].to_vec(),
        ));
        for child in children {
            roots.push((format!("{child}::"), module.to_vec()));
        }
    }
    // A file's unit tests (at its end) see the file itself through `super`.
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        // A re-export is what a module offers, not what it takes.
        if code.trim_start().starts_with("pub use ") && module.is_some() {
            continue;
        }
        for (prefix, base) in &roots {
            let child = prefix.trim_end_matches(':');
            let base: Vec<String> = if prefix == "crate::" || prefix == "super::" {
                base.clone()
            } else {
                let mut b = base.clone();
                b.push(child.to_string());
                b
            };
            let prefix = prefix.as_str();
            let mut rest = code;
            while let Some(i) = rest.find(prefix) {
                let preceded = rest[..i]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
                rest = &rest[i + prefix.len()..];
                if preceded {
                    continue;
                }
                let items: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                    None => vec![rest],
                };
                for item in items {
                    let path = segments(item.trim());
                    if path.first().is_some_and(|p| p == "super" || p == "self") {
                        continue;
                    }
                    if path.is_empty() && base.is_empty() {
                        continue;
                    }
                    let mut whole = base.clone();
                    whole.extend(path);
                    found.push((whole, n + 1));
                }
            }
        }
    }
    found
}

/// The `crate::` paths alone (what the layer rule reads).
fn imports(text: &str) -> Vec<(Vec<String>, usize)> {
    imports_of(None, text)
}

fn segments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        out.push(ident);
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// Every import of a module from a layer above its own, as `path:line: ...`.
fn upward_imports(sources: &[Source]) -> Vec<String> {
    let mut wrong = Vec::new();
    for source in sources {
        let Some(own) = source.module.first() else {
            continue; // lib.rs declares the modules.
        };
        let Some(own_layer) = layer_of(own) else {
            wrong.push(format!("{}: module `{own}` is in no layer", source.path));
            continue;
        };
        for (path, line) in imports(&source.text) {
            match layer_of(&path[0]) {
                Some(layer) if layer > own_layer => wrong.push(format!(
                    "{}:{line}: `{own}` (layer {}) imports `crate::{}` (layer {})",
                    source.path,
                    own_layer + 1,
                    path.join("::"),
                    layer + 1
                )),
                Some(_) => {}
                None => wrong.push(format!(
                    "{}:{line}: `crate::{}` is in no layer",
                    source.path,
                    path.join("::")
                )),
            }
        }
    }
    wrong
}

/// The file an import names: the longest prefix of its path that is a file.
fn file_of(path: &[String], files: &BTreeMap<Vec<String>, usize>) -> Option<usize> {
    (1..=path.len())
        .rev()
        .find_map(|n| files.get(&path[..n]).copied())
}

/// The circles of files importing each other (their paths, one circle a
/// line): a parent module using its child counts as an import, as does a
/// child using `super::`.
fn circles(sources: &[Source]) -> Vec<String> {
    let index: BTreeMap<Vec<String>, usize> = sources
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.module.is_empty())
        .map(|(i, s)| (s.module.clone(), i))
        .collect();
    let edges: Vec<BTreeSet<usize>> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let children: Vec<String> = index
                .keys()
                .filter(|m| m.len() == s.module.len() + 1 && m.starts_with(&s.module))
                .map(|m| m[s.module.len()].clone())
                .collect();
            imports_of(Some((&s.module, &children)), &s.text)
                .into_iter()
                .filter_map(|(path, _)| file_of(&path, &index))
                .filter(|&j| j != i)
                .collect()
        })
        .collect();
    // Tarjan's strongly connected components.
    struct Walk<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        found: Vec<Vec<usize>>,
    }
    fn visit(w: &mut Walk<'_>, v: usize) {
        w.index[v] = Some(w.next);
        w.low[v] = w.next;
        w.next += 1;
        w.stack.push(v);
        w.on_stack[v] = true;
        for &u in w.edges[v].clone().iter() {
            match w.index[u] {
                None => {
                    visit(w, u);
                    w.low[v] = w.low[v].min(w.low[u]);
                }
                Some(iu) if w.on_stack[u] => w.low[v] = w.low[v].min(iu),
                Some(_) => {}
            }
        }
        if Some(w.low[v]) == w.index[v] {
            let mut component = Vec::new();
            while let Some(u) = w.stack.pop() {
                w.on_stack[u] = false;
                component.push(u);
                if u == v {
                    break;
                }
            }
            if component.len() > 1 {
                w.found.push(component);
            }
        }
    }
    let n = sources.len();
    let mut walk = Walk {
        edges: &edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if walk.index[v].is_none() {
            visit(&mut walk, v);
        }
    }
    walk.found
        .into_iter()
        .map(|c| {
            let mut paths: Vec<&str> = c.iter().map(|&i| sources[i].path.as_str()).collect();
            paths.sort();
            paths.join(", ")
        })
        .collect()
}

fn source(path: &str, text: &str) -> Source {
    let relative = Path::new(path.strip_prefix("src/").unwrap());
    Source {
        path: path.into(),
        module: module_of(relative),
        text: text.into(),
    }
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let sources = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(sources.len() > 100, "the scan found the sources");
    let wrong = upward_imports(&sources);
    assert!(wrong.is_empty(), "imports upward:\n{}", wrong.join("\n"));
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let sources = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let circles = circles(&sources);
    assert!(circles.is_empty(), "circles:\n{}", circles.join("\n"));
}

/// Files that name `krate` (as `krate::` or `use krate`) outside those under `allowed`.
fn users_of(sources: &[Source], krate: &str, allowed: &[&str]) -> Vec<String> {
    sources
        .iter()
        .filter(|s| !s.module.is_empty())
        .filter(|s| !allowed.iter().any(|a| s.module[0] == *a))
        .filter(|s| {
            s.text.lines().any(|line| {
                let code = line.split("//").next().unwrap_or("");
                code.contains(&format!("{krate}::")) || code.contains(&format!("use {krate}"))
            })
        })
        .map(|s| s.path.clone())
        .collect()
}

#[test]
fn only_the_store_speaks_sql_and_only_http_and_the_entry_points_speak_axum() {
    let sources = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let sql = users_of(&sources, "sqlx", &["store"]);
    assert!(sql.is_empty(), "sqlx outside the store: {sql:?}");
    let web = users_of(&sources, "axum", &["http", "server", "cli", "demo"]);
    assert!(web.is_empty(), "axum below http: {web:?}");
}

#[test]
fn no_source_file_is_over_500_lines() {
    let sources = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let long: Vec<String> = sources
        .iter()
        .filter(|s| s.text.lines().count() > 500)
        .map(|s| format!("{}: {} lines", s.path, s.text.lines().count()))
        .collect();
    assert!(long.is_empty(), "split by concern:\n{}", long.join("\n"));
}

#[test]
fn the_scan_catches_a_wrong_import_in_every_form() {
    let good = source(
        "src/service/factors/mod.rs",
        "use crate::store::{self, User};\nuse crate::app::AppState;\n",
    );
    assert!(upward_imports(&[good]).is_empty());
    for text in [
        "use crate::http::error::PageError;",
        "use crate::{store, http::cookies};",
        "    let x = crate::server::router(state);",
    ] {
        let wrong = source("src/service/factors/mod.rs", text);
        assert_eq!(upward_imports(&[wrong]).len(), 1, "{text}");
    }
    let comment = source("src/store/users.rs", "// see crate::http::login\n");
    assert!(
        upward_imports(&[comment]).is_empty(),
        "comments are not imports"
    );
    let a = source("src/store/a.rs", "use crate::store::b::B;");
    let b = source("src/store/b.rs", "use crate::store::a::A;");
    assert_eq!(circles(&[a, b]).len(), 1);
    // A parent that routes its child, and a child that takes from its parent.
    let parent = source("src/http/login/mod.rs", "get(password::show_login)");
    let child = source("src/http/login/password.rs", "use super::expired_sign_in;");
    assert_eq!(circles(&[parent, child]).len(), 1);
    let parent = source("src/http/login/mod.rs", "get(password::show_login)");
    let child = source(
        "src/http/login/password.rs",
        "use super::pending::expired_sign_in;",
    );
    let pending = source("src/http/login/pending.rs", "");
    assert!(circles(&[parent, child, pending]).is_empty());
}
