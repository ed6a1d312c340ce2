//! Who may sign in, from the credential flags.

use super::Cli;
use crate::auth::{Access, ApiToken, Credentials, Password, Role, User};

impl Cli {
    /// Who may sign in. With access control on and nothing configured: a generated admin
    /// password on a loopback address, a refusal anywhere else.
    pub fn access(&self) -> Result<Access, String> {
        if self.auth == "off" {
            return Ok(Access::Off);
        }
        let mut credentials = Credentials::default();
        let mut user = |name: &str, plain: &Option<String>, hash: &Option<String>, role| {
            let password = match (plain, hash) {
                (_, Some(h)) => Password::Hash(h.clone()),
                (Some(p), None) => Password::Plain(p.clone()),
                (None, None) => return,
            };
            credentials.users.push(User {
                name: name.to_owned(),
                password,
                role,
            });
        };
        user(
            &self.username,
            &self.password,
            &self.password_hash,
            Role::Admin,
        );
        user(
            &self.viewer_username,
            &self.viewer_password,
            &self.viewer_password_hash,
            Role::Viewer,
        );
        for entry in self.api_tokens.iter().filter(|t| !t.is_empty()) {
            let (role, token) = entry
                .split_once(':')
                .and_then(|(r, t)| Some((Role::parse(r)?, t)))
                .ok_or_else(|| {
                    "each API token is `admin:TOKEN` or `viewer:TOKEN` (SIGHTLINE_API_TOKENS)"
                        .to_owned()
                })?;
            credentials.tokens.push(ApiToken {
                token: token.to_owned(),
                role,
            });
        }
        if !credentials.is_empty() {
            return Ok(Access::Protected(credentials));
        }
        if self.addr.ip().is_loopback() {
            return Ok(Access::Generated);
        }
        Err(format!(
            "refusing to serve the dashboard on {} without credentials: set SIGHTLINE_USERNAME and SIGHTLINE_PASSWORD (or SIGHTLINE_PASSWORD_HASH, printed by `sightline --hash-password`), or SIGHTLINE_AUTH=off to let anyone who can reach it in",
            self.addr
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn no_credentials_mean_a_generated_password_on_loopback_and_a_refusal_elsewhere() {
        use crate::auth::Access;
        let on = |args: &[&str]| {
            Cli::try_parse_from([&["sightline"], args].concat())
                .unwrap()
                .config()
        };
        assert!(matches!(on(&[]).unwrap().access, Access::Generated));
        assert!(matches!(
            on(&["--addr", "[::1]:80"]).unwrap().access,
            Access::Generated
        ));
        let err = on(&["--addr", "0.0.0.0:3000"]).unwrap_err();
        assert!(
            err.contains("SIGHTLINE_PASSWORD") && err.contains("SIGHTLINE_AUTH=off"),
            "{err}"
        );
        assert!(matches!(
            on(&["--addr", "0.0.0.0:3000", "--auth", "off"])
                .unwrap()
                .access,
            Access::Off
        ));
        let Access::Protected(c) = on(&[
            "--addr",
            "0.0.0.0:3000",
            "--api-tokens",
            "viewer:abcdefghijklmnopq",
        ])
        .unwrap()
        .access
        else {
            panic!("a token is a credential");
        };
        assert_eq!(c.tokens.len(), 1);
        assert!(on(&["--api-tokens", "root:abcdefghijklmnopq"]).is_err());
    }
}
