//! The earshot dashboard, embedded: the web app in `app/` is built by `build.sh` (esbuild, from the
//! committed npm lockfile) into `app/dist/`, and `build.rs` puts every file of it into this crate, so
//! the binary serves it with nothing fetched at run time and nothing to install beside it.
//!
//! # Layout
//! - `build.rs`: embeds `app/dist/*` (fails, saying to run `scripts/setup.sh`, when it is missing).
//! - [`asset`]: looks a request path up; the HTTP server answers unknown paths with [`index`] so the
//!   app's own routing (in the URL's hash) works on reload.
//! - `app/src/`: the TypeScript app (`main.ts` shell and router, `pages/*`, `api.ts` for the JSON API).

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// One embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The file as built.
    pub bytes: &'static [u8],
    /// Its `Content-Type` header value.
    pub content_type: &'static str,
}

/// The embedded file at a request path (`/`, `/app.js`, `app.css`), if there is one. `/` and the
/// empty path are `index.html`. A query string or fragment must be stripped by the caller.
pub fn asset(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|(name, _, _)| *name == path).map(|&(_, bytes, content_type)| Asset { bytes, content_type })
}

/// The app's page, for `GET /` and for every path that is neither an asset nor the API.
pub fn index() -> Asset {
    // build.rs refuses to build without index.html, so it is always in the table.
    asset("index.html").unwrap_or(Asset { bytes: b"", content_type: "text/html; charset=utf-8" })
}

/// Every embedded path (for logs and tests).
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(name, _, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_index_are_the_page() {
        let root = asset("/").expect("index");
        assert_eq!(root, asset("index.html").expect("index.html"));
        assert_eq!(root, index());
        assert_eq!(root.content_type, "text/html; charset=utf-8");
        let html = std::str::from_utf8(root.bytes).expect("utf-8");
        assert!(html.contains("app.js") && html.contains("app.css"), "index.html loads the bundle");
    }

    #[test]
    fn bundle_has_its_content_types() {
        let js = asset("/app.js").expect("app.js");
        assert_eq!(js.content_type, "text/javascript; charset=utf-8");
        assert!(js.bytes.len() > 10_000, "the bundle carries the app and the chart library");
        assert_eq!(asset("app.css").expect("app.css").content_type, "text/css; charset=utf-8");
    }

    #[test]
    fn unknown_and_escaping_paths_are_none() {
        assert_eq!(asset("/nope.js"), None);
        assert_eq!(asset("/../Cargo.toml"), None);
        assert_eq!(asset("/api/earshot.v1.SearchService/Search"), None);
        assert_eq!(asset(".stamp"), None, "dotfiles of the build are not served");
    }

    #[test]
    fn nothing_is_fetched_from_outside() {
        // The dashboard must work offline: no asset names another origin to load from.
        for path in paths() {
            let Some(a) = asset(path) else { continue };
            if !a.content_type.starts_with("text/html") && !a.content_type.starts_with("text/css") {
                continue;
            }
            let text = String::from_utf8_lossy(a.bytes);
            assert!(
                !text.contains("src=\"http") && !text.contains("href=\"http") && !text.contains("url(http"),
                "{path} loads from another origin"
            );
        }
    }
}
