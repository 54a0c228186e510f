//! The web app's files: embedded in the binary, or read from a directory on
//! every request (`PUBLIC_DIR`, and the crate's own `public/` in debug builds).
//!
//! Request paths are confined to the asset root: see [`resolve`], whose table of
//! hostile paths is the unit test below.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use include_dir::{include_dir, Dir};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/public");

/// One file ready to send.
#[derive(Clone, Debug)]
pub struct Asset {
    pub body: Bytes,
    /// Strong validator derived from the content, quoted as HTTP wants it.
    pub etag: String,
    pub content_type: &'static str,
}

/// Where the files come from.
#[derive(Clone)]
pub enum Assets {
    /// Files compiled into the binary, indexed once at start.
    Embedded(Arc<BTreeMap<String, Asset>>),
    /// A directory read on every request; `root` is canonical.
    Disk { root: Arc<PathBuf> },
}

/// Why a request path was refused before touching any file.
#[derive(Debug, PartialEq, Eq)]
pub enum PathError {
    /// The path would leave the asset root or is not a plain file name
    /// (`..`, backslashes, NUL, hidden files, bad percent-encoding).
    Forbidden,
}

impl Assets {
    /// The copy built into the binary.
    pub fn embedded() -> Assets {
        let mut files = BTreeMap::new();
        collect_embedded(&EMBEDDED, &mut files);
        Assets::Embedded(Arc::new(files))
    }

    /// Files read from `dir` on every request.
    pub fn from_dir(dir: &Path) -> Result<Assets> {
        if !dir.is_dir() {
            bail!(
                "PUBLIC_DIR is {} but that is not a directory; point it at a folder holding index.html, or unset it to serve the app built into the binary",
                dir.display()
            );
        }
        let root = dir
            .canonicalize()
            .with_context(|| format!("PUBLIC_DIR {} could not be opened", dir.display()))?;
        Ok(Assets::Disk {
            root: Arc::new(root),
        })
    }

    /// Release builds serve the embedded copy; debug builds (`cargo run`) serve
    /// the crate's `public/` from disk, so editing the app needs no rebuild.
    pub fn default_for_build() -> Assets {
        if cfg!(debug_assertions) {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("public");
            if let Ok(assets) = Assets::from_dir(&dir) {
                return assets;
            }
        }
        Assets::embedded()
    }

    /// Describes the source for the banner.
    pub fn describe(&self) -> String {
        match self {
            Assets::Embedded(_) => "built into the binary".to_string(),
            Assets::Disk { root } => format!("{} (read on every request)", root.display()),
        }
    }

    /// Looks up the file for a request path. `Ok(None)` is "not found".
    pub async fn get(&self, request_path: &str) -> Result<Option<Asset>, PathError> {
        let rel = resolve(request_path)?;
        if is_editor_dropping(Path::new(&rel)) {
            return Ok(None); // backups and swap files are not part of the app
        }
        Ok(match self {
            Assets::Embedded(files) => files.get(&rel).cloned(),
            Assets::Disk { root } => read_confined(root, &rel).await,
        })
    }

    /// Every served file with a hash of its content, and the app's version:
    /// a short hash over all names and contents. The version is the same
    /// across restarts when nothing changed.
    pub async fn manifest(&self) -> Manifest {
        let files: BTreeMap<String, String> = match self {
            Assets::Embedded(files) => files
                .iter()
                .map(|(k, v)| (k.clone(), v.etag.clone()))
                .collect(),
            Assets::Disk { root } => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || {
                    let mut out = Vec::new();
                    walk_disk(&root, &root, 0, &mut out);
                    out.into_iter()
                        .map(|(name, body)| (name, etag_of(&body)))
                        .collect()
                })
                .await
                .unwrap_or_default()
            }
        };
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for (name, hash) in &files {
            // Lengths make the encoding unambiguous: no two file sets hash
            // alike by moving bytes between a name and a hash.
            ctx.update(&(name.len() as u64).to_be_bytes());
            ctx.update(name.as_bytes());
            ctx.update(&(hash.len() as u64).to_be_bytes());
            ctx.update(hash.as_bytes());
        }
        Manifest {
            version: short_hex(ctx.finish().as_ref()),
            files,
        }
    }

    /// The app's version (see [`Assets::manifest`]).
    pub async fn version(&self) -> String {
        self.manifest().await.version
    }
}

/// The served files and their content hashes at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub version: String,
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// Files added, removed or changed in `newer`, sorted.
    pub fn changed(&self, newer: &Manifest) -> Vec<String> {
        let mut names: Vec<String> = self
            .files
            .iter()
            .filter(|(name, hash)| newer.files.get(*name) != Some(*hash))
            .map(|(name, _)| name.clone())
            .chain(
                newer
                    .files
                    .keys()
                    .filter(|n| !self.files.contains_key(*n))
                    .cloned(),
            )
            .collect();
        names.sort();
        names
    }
}

fn collect_embedded(dir: &Dir<'static>, out: &mut BTreeMap<String, Asset>) {
    for file in dir.files() {
        let rel = file.path().to_string_lossy().replace('\\', "/");
        if servable(&rel) {
            out.insert(
                rel.clone(),
                make_asset(&rel, Bytes::from_static(file.contents())),
            );
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

/// Files editors create beside the real ones: never served, never hashed into
/// the version, never a reason to reload (vim's `.swp`/`.swx` and its `4913` probe, `~` backups, Emacs
/// `.#` locks, and any hidden file).
pub fn is_editor_dropping(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

/// Directory levels followed below the root: deep enough for any app, and a
/// bound on a link loop that stays inside the root.
const MAX_DEPTH: usize = 16;

fn walk_disk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<(String, Bytes)>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue; // hidden files are never served, so never hashed
        }
        let path = entry.path();
        // Follow links only where they stay inside the root, as serving does.
        let Ok(real) = path.canonicalize() else {
            continue;
        };
        if !real.starts_with(root) {
            continue;
        }
        if real.is_dir() {
            walk_disk(root, &path, depth + 1, out);
        } else if let (Ok(rel), true) = (path.strip_prefix(root), real.is_file()) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if servable(&rel) {
                if let Ok(bytes) = std::fs::read(&real) {
                    out.push((rel, Bytes::from(bytes)));
                }
            }
        }
    }
}

async fn read_confined(root: &Path, rel: &str) -> Option<Asset> {
    let candidate = root.join(rel);
    // Canonicalizing resolves symlinks; anything that lands outside the root
    // (a link to /etc, say) is treated as absent.
    let real = tokio::fs::canonicalize(&candidate).await.ok()?;
    if !real.starts_with(root) || !tokio::fs::metadata(&real).await.ok()?.is_file() {
        return None;
    }
    let body = tokio::fs::read(&real).await.ok()?;
    Some(make_asset(rel, Bytes::from(body)))
}

fn make_asset(rel: &str, body: Bytes) -> Asset {
    Asset {
        etag: etag_of(&body),
        content_type: content_type(rel),
        body,
    }
}

/// A strong validator from the content, quoted as HTTP wants it.
fn etag_of(body: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    format!("\"{}\"", short_hex(digest.as_ref()))
}

/// Whether `rel` (a path relative to the root) is a file the app serves:
/// a plain confined name, and not an editor's swap or backup file.
fn servable(rel: &str) -> bool {
    resolve(&format!("/{rel}")).as_deref() == Ok(rel) && !is_editor_dropping(Path::new(rel))
}

fn short_hex(bytes: &[u8]) -> String {
    bytes.iter().take(10).map(|b| format!("{b:02x}")).collect()
}

/// Content types for what a web app ships; JavaScript gets `text/javascript`
/// because module scripts are refused under anything that is not a JS type.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => mime_guess::from_ext(&ext)
            .first_raw()
            .unwrap_or("application/octet-stream"),
    }
}

/// Turns a request path into a relative file name inside the asset root, or
/// refuses it. `/` and paths ending in `/` mean `index.html`.
pub fn resolve(request_path: &str) -> Result<String, PathError> {
    let decoded = percent_encoding::percent_decode_str(request_path)
        .decode_utf8()
        .map_err(|_| PathError::Forbidden)?;
    if decoded.contains('\0') || decoded.contains('\\') || !decoded.starts_with('/') {
        return Err(PathError::Forbidden);
    }
    let mut rel = decoded[1..].to_string();
    if rel.is_empty() || rel.ends_with('/') {
        rel.push_str("index.html");
    }
    let ok = rel.split('/').all(|seg| {
        !seg.is_empty()
            && !seg.starts_with('.')
            && !seg.contains(':')
            && !seg.chars().any(char::is_control)
    });
    if ok {
        Ok(rel)
    } else {
        Err(PathError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths a hostile client may send; none may name anything but a plain
    /// file below the root.
    const HOSTILE: &[&str] = &[
        "/../Cargo.toml",
        "/..",
        "/a/../../etc/passwd",
        "/%2e%2e/Cargo.toml",
        "/%2E%2E%2FCargo.toml",
        "/..%2fCargo.toml",
        "/%2e%2e%5cCargo.toml",
        "/..\\Cargo.toml",
        "/\\etc\\passwd",
        "//etc/passwd",
        "/%2fetc/passwd",
        "/index.html%00.png",
        "/index.html\0",
        "/C:/Windows/win.ini",
        "/.git/config",
        "/.env",
        "/a//b",
        "/./index.html",
        "/%ff%fe",
        "etc/passwd",
        "",
    ];

    #[test]
    fn hostile_paths_are_refused() {
        for path in HOSTILE {
            assert_eq!(
                resolve(path),
                Err(PathError::Forbidden),
                "{path:?} was accepted"
            );
        }
    }

    #[test]
    fn ordinary_paths_resolve() {
        for (path, rel) in [
            ("/", "index.html"),
            ("/app.js", "app.js"),
            ("/img/", "img/index.html"),
            ("/img/a%20b.png", "img/a b.png"),
        ] {
            assert_eq!(resolve(path).as_deref(), Ok(rel), "{path}");
        }
    }

    #[test]
    fn content_types() {
        for (path, want) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.svg", "image/svg+xml"),
            ("a.png", "image/png"),
            ("a.ico", "image/x-icon"),
            ("a.json", "application/json"),
            ("a.webmanifest", "application/manifest+json"),
            ("a.wasm", "application/wasm"),
        ] {
            assert_eq!(content_type(path), want, "{path}");
        }
    }

    #[tokio::test]
    async fn symlink_out_of_root_is_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("index.html"), "hi").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            root.path().join("leak.txt"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("dir")).unwrap();
        let assets = Assets::from_dir(root.path()).unwrap();
        assert!(assets.get("/leak.txt").await.unwrap().is_none());
        assert!(assets.get("/dir/secret.txt").await.unwrap().is_none());
        assert_eq!(&assets.get("/").await.unwrap().unwrap().body[..], b"hi");
    }

    #[tokio::test]
    async fn version_tracks_content_not_time() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("index.html"), "one").unwrap();
        let assets = Assets::from_dir(root.path()).unwrap();
        let v1 = assets.version().await;
        std::fs::write(root.path().join("index.html"), "one").unwrap();
        assert_eq!(
            assets.version().await,
            v1,
            "rewriting the same bytes changed the version"
        );
        std::fs::write(root.path().join(".index.html.swp"), "junk").unwrap();
        assert_eq!(
            assets.version().await,
            v1,
            "an editor swap file changed the version"
        );
        let before = assets.manifest().await;
        std::fs::write(root.path().join("index.html"), "two").unwrap();
        std::fs::write(root.path().join("new.css"), "a{}").unwrap();
        let after = assets.manifest().await;
        assert_ne!(after.version, v1);
        assert_eq!(before.changed(&after), ["index.html", "new.css"]);
        std::fs::remove_file(root.path().join("index.html")).unwrap();
        assert_eq!(after.changed(&assets.manifest().await), ["index.html"]);
    }

    #[test]
    fn editor_droppings() {
        for (name, dropping) in [
            ("style.css", false),
            ("js/main.js", false),
            (".style.css.swp", true),
            ("index.html.swx", true),
            ("4913", true),
            ("index.html~", true),
            (".#index.html", true),
            (".hidden", true),
        ] {
            assert_eq!(is_editor_dropping(Path::new(name)), dropping, "{name}");
        }
    }

    #[test]
    fn embedded_copy_has_the_index() {
        let Assets::Embedded(files) = Assets::embedded() else {
            unreachable!()
        };
        assert!(files.contains_key("index.html"));
    }
}
