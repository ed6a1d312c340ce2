//! Sightline's settings: every option, its default, and where it can be set.
//!
//! Precedence: built-in default < environment variable < command-line flag. The README's
//! configuration table lists the same options.

use std::net::SocketAddr;
use std::path::PathBuf;

use sightline_app::BasePath;

/// Where the standalone server listens.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Where the dashboard is mounted.
pub const DEFAULT_PATH: &str = "/sightline";
/// The directory cargo-leptos writes the compiled site to (`pkg/`, `favicon.svg`).
pub const DEFAULT_SITE_ROOT: &str = "target/site";

/// Settings of an embedded or standalone Sightline.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base path of the dashboard and its API.
    pub path: BasePath,
    /// Directory holding the compiled site (`pkg/sightline.js`, `.wasm`, `.css`).
    pub site_root: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path: BasePath::parse(DEFAULT_PATH).expect("the default path is valid"),
            site_root: std::env::var_os("LEPTOS_SITE_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SITE_ROOT)),
        }
    }
}

/// Command line of the standalone server; every flag also reads an environment variable.
#[derive(Debug, clap::Parser)]
#[command(name = "sightline", version, about, long_about = None)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Base path the dashboard is served under.
    #[arg(long, env = "SIGHTLINE_PATH", default_value = DEFAULT_PATH, value_parser = parse_path)]
    pub path: BasePath,

    /// Directory of the compiled site (written by `cargo leptos build`).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = DEFAULT_SITE_ROOT)]
    pub site_root: PathBuf,
}

fn parse_path(raw: &str) -> Result<BasePath, String> {
    BasePath::parse(raw).map_err(|e| e.to_string())
}

impl Cli {
    pub fn config(&self) -> Config {
        Config {
            path: self.path.clone(),
            site_root: self.site_root.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn flags_override_defaults() {
        let cli =
            Cli::try_parse_from(["sightline", "--path", "ops/", "--addr", "0.0.0.0:9000"]).unwrap();
        assert_eq!(cli.config().path.as_str(), "/ops");
        assert_eq!(cli.addr, "0.0.0.0:9000".parse().unwrap());
    }

    #[test]
    fn a_bad_path_is_refused_with_a_reason() {
        let err = Cli::try_parse_from(["sightline", "--path", "/"]).unwrap_err();
        assert!(err.to_string().contains("/sightline"), "{err}");
    }
}
