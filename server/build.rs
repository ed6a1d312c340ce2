//! Records the compiler and target (shown in the dashboard's server information) and embeds
//! the compiled dashboard site (`site/`: WASM, JS, CSS, each with its `.br` and `.gz`).
//!
//! `site/` is produced by `scripts/site.sh` from the `app/` and `frontend/` sources;
//! `scripts/site.sh check` (run by the test command) fails when it no longer matches them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SIGHTLINE_RUSTC={version}");
    println!(
        "cargo:rustc-env=SIGHTLINE_TARGET={}",
        std::env::var("TARGET").unwrap_or_default()
    );
    println!("cargo:rerun-if-env-changed=RUSTC");

    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    // The README's code blocks run as doctests in the workspace; the published crate
    // carries a copy of the README at another place and leaves them out.
    println!("cargo::rustc-check-cfg=cfg(readme_doctests)");
    if root.join("../README.md").exists() {
        println!("cargo:rustc-cfg=readme_doctests");
    }
    let site = root.join("site");
    println!("cargo:rerun-if-changed={}", site.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("site.rs");
    std::fs::write(&out, embed(&site)).expect("writing the site table");
}

/// `static FILES: &[Asset]`, one entry per served file, sorted by path.
fn embed(site: &Path) -> String {
    let mut files = Vec::new();
    collect(site, site, &mut files);
    files.sort();
    assert!(
        files.iter().any(|f| f.ends_with(".wasm")),
        "{} holds no compiled dashboard: run scripts/site.sh",
        site.display()
    );
    let mut code = String::from("pub(crate) static FILES: &[Asset] = &[\n");
    for rel in &files {
        let path = site.join(rel);
        let bytes = std::fs::read(&path).expect("reading a site file");
        let variant = |ext: &str| {
            let p = PathBuf::from(format!("{}.{ext}", path.display()));
            if p.exists() {
                format!("Some(include_bytes!({:?}))", p.display().to_string())
            } else {
                "None".to_owned()
            }
        };
        let _ = writeln!(
            code,
            "    Asset {{ path: {rel:?}, content_type: {:?}, tag: \"{:016x}\", identity: include_bytes!({:?}), br: {}, gzip: {} }},",
            content_type(rel),
            fnv1a(&bytes),
            path.display().to_string(),
            variant("br"),
            variant("gz"),
        );
    }
    code.push_str("];\n");
    code
}

/// Relative paths of the files to serve: not the precompressed copies, not the stamp.
fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("reading the site directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let rel = path.strip_prefix(root).expect("below the root");
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel.ends_with(".br") || rel.ends_with(".gz") || rel == "BUILT_FROM" {
            continue;
        }
        files.push(rel);
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The entity tag: any stable digest of the bytes will do.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
