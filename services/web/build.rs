//! Embeds every file of `app/dist/` (built by `services/web/build.sh`, run by `scripts/setup.sh`) as a
//! static table of `(path, include_bytes!, content type)`. A missing build is an error that says how to
//! make one: a binary without its dashboard would only fail later, in a browser.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("app").join("dist");
    // Cargo re-runs this script when anything under dist/ changes (a directory is scanned whole).
    println!("cargo:rerun-if-changed={}", dist.display());
    if !dist.join("index.html").is_file() {
        panic!(
            "\n\nearshot-web: {} has no built dashboard (index.html missing).\n\
             Run scripts/setup.sh (or services/web/build.sh) to build it, then build again.\n\n",
            dist.display()
        );
    }
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every embedded file: path under dist/, bytes, content type.\nstatic ASSETS: &[(&str, &[u8], &str)] = &[\n",
    );
    for (rel, abs) in &files {
        let _ =
            writeln!(out, "    ({rel:?}, include_bytes!({:?}), {:?}),", abs.display().to_string(), content_type(rel));
    }
    out.push_str("];\n");
    let target = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    fs::write(&target, out).expect("write assets.rs");
}

/// Files below `dir`, as (path relative to `root` with `/`, absolute path); dotfiles (the build stamp) stay out.
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("earshot-web: cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dist entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("below root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let abs = path.canonicalize().expect("canonical path");
            out.push((rel, abs));
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
