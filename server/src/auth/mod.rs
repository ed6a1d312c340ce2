//! Access control: who may read the dashboard and its API, and who may change things.
//!
//! Users sign in on `{path}/login` and get a session cookie (`HttpOnly`, `SameSite=Strict`,
//! `Secure` behind TLS, expiring, revoked by sign-out, which also ends the live streams
//! opened under it); scripts send `Authorization: Bearer <token>`. Passwords are kept as
//! Argon2 hashes; passwords and tokens are compared in constant time (tokens by digest, so
//! not even their length shows). Sign-ins are limited per client address and per account
//! ([`limit`]).
//!
//! [`guard`] stands in front of every dashboard route: deny by default.

mod credentials;
mod guard;
pub mod limit;
mod login;
mod sessions;
mod verify;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use argon2::password_hash::PasswordHash;
use axum::http::{HeaderMap, HeaderValue, header};
use blake2::{Blake2b512, Digest};
use sightline_app::BasePath;
pub use sightline_app::auth::{Principal, Role};
use subtle::ConstantTimeEq;

pub use credentials::{
    Access, ApiToken, AuthError, Credentials, Password, User, hash_password, random_token,
};
pub use guard::{guard, refuse_unless_admin};
pub use limit::{LIMIT_FAILURES, LIMIT_WINDOW};
pub use login::{LoginForm, login, logout};
pub use sessions::SessionEnd;
pub use verify::{VERIFY_QUEUE, VERIFY_THREADS};

/// Name of the session cookie.
pub const COOKIE: &str = "sightline_session";

struct Account {
    name: String,
    hash: String,
    role: Role,
}

/// The access state every guarded request consults.
pub struct Auth {
    /// `None`: access control is off.
    accounts: Option<Vec<Account>>,
    /// Digests of the API tokens, with their roles.
    tokens: Vec<([u8; 64], Role)>,
    /// Verified against when the user name is unknown, so both cases take as long.
    dummy_hash: String,
    sessions: sessions::Sessions,
    limiter: limit::Limiter,
    /// Where Argon2 checks run, at most [`VERIFY_THREADS`] at once (each takes ~19 MiB).
    verifier: verify::Verifier,
    warned_no_peer: AtomicBool,
    pub session_ttl: Duration,
    pub base: BasePath,
    /// Header naming the client address, set by a trusted proxy (e.g. `x-forwarded-for`).
    pub trusted_header: Option<String>,
    pub secure_cookies: bool,
    /// The password made for [`Access::Generated`].
    pub generated_password: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("open", &self.accounts.is_none())
            .finish_non_exhaustive()
    }
}

/// Settings of [`Auth`] besides the credentials.
#[derive(Clone, Debug)]
pub struct AuthOptions {
    pub session_ttl: Duration,
    pub trusted_header: Option<String>,
    pub secure_cookies: bool,
}

fn digest(token: &str) -> [u8; 64] {
    Blake2b512::digest(token.as_bytes()).into()
}

impl Auth {
    pub fn new(access: &Access, base: BasePath, options: AuthOptions) -> Result<Self, AuthError> {
        let mut generated_password = None;
        let credentials = match access {
            Access::Off => None,
            Access::Protected(c) => Some(c.clone()),
            Access::Generated => {
                let password = random_token()[..20].to_owned();
                generated_password = Some(password.clone());
                Some(Credentials {
                    users: vec![User {
                        name: "admin".into(),
                        password: Password::Plain(password),
                        role: Role::Admin,
                    }],
                    tokens: Vec::new(),
                })
            }
        };
        let mut tokens = Vec::new();
        let accounts = match credentials {
            None => None,
            Some(c) => {
                if c.tokens.iter().any(|t| t.token.len() < 16) {
                    return Err(AuthError::ShortToken);
                }
                tokens = c
                    .tokens
                    .iter()
                    .map(|t| (digest(&t.token), t.role))
                    .collect();
                let mut accounts = Vec::new();
                for user in c.users {
                    let hash = match user.password {
                        Password::Plain(p) => hash_password(&p)?,
                        Password::Hash(h) => {
                            PasswordHash::new(&h).map_err(|e| {
                                AuthError::BadHash(user.name.clone(), e.to_string())
                            })?;
                            h
                        }
                    };
                    accounts.push(Account {
                        name: user.name,
                        hash,
                        role: user.role,
                    });
                }
                Some(accounts)
            }
        };
        Ok(Self {
            accounts,
            tokens,
            dummy_hash: hash_password(&random_token())?,
            sessions: sessions::Sessions::default(),
            limiter: limit::Limiter::default(),
            verifier: verify::Verifier::default(),
            warned_no_peer: AtomicBool::new(false),
            session_ttl: options.session_ttl,
            base,
            trusted_header: options.trusted_header.map(|h| h.to_ascii_lowercase()),
            secure_cookies: options.secure_cookies,
            generated_password,
        })
    }

    pub fn is_open(&self) -> bool {
        self.accounts.is_none()
    }

    /// Checks a name and password in `memory` (Argon2's buffer, reused), in constant time
    /// in the password; an unknown name costs the same as a wrong password. Blocking: it
    /// takes tens of milliseconds (see `verify`).
    pub fn verify(
        &self,
        name: &str,
        password: &str,
        memory: &mut Vec<argon2::Block>,
    ) -> Option<Principal> {
        let accounts = self.accounts.as_ref()?;
        let account = accounts.iter().find(|a| a.name == name);
        let hash = account.map_or(self.dummy_hash.as_str(), |a| a.hash.as_str());
        let ok = verify::matches(hash, password.as_bytes(), memory);
        let account = account.filter(|_| ok)?;
        Some(Principal {
            name: account.name.clone(),
            role: account.role,
            open: false,
        })
    }

    /// Whether `name` is a user who may sign in.
    pub fn has_account(&self, name: &str) -> bool {
        self.accounts
            .as_ref()
            .is_some_and(|accounts| accounts.iter().any(|a| a.name == name))
    }

    fn bearer(&self, token: &str) -> Option<Principal> {
        let given = digest(token);
        let mut found = None;
        // Every token is compared, each in constant time, by digests of equal length.
        for (known, role) in &self.tokens {
            if bool::from(known.ct_eq(&given)) {
                found = Some(*role);
            }
        }
        found.map(|role| Principal {
            name: "api token".into(),
            role,
            open: false,
        })
    }

    /// Signs `principal` in: the new session's token.
    pub fn start_session(&self, principal: Principal) -> String {
        self.sessions.start(principal, self.session_ttl)
    }

    /// Who sent this request, if anyone we know, and (for a session) when it ends.
    pub fn identify(&self, headers: &HeaderMap) -> Option<(Principal, Option<SessionEnd>)> {
        if self.is_open() {
            let anyone = Principal {
                name: "anyone".into(),
                role: Role::Admin,
                open: true,
            };
            return Some((anyone, None));
        }
        if let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return self.bearer(token.trim()).map(|p| (p, None));
        }
        let (principal, end) = self.sessions.get(&session_cookie(headers)?)?;
        Some((principal, Some(end)))
    }

    /// Who sent this request, if anyone we know.
    pub fn principal(&self, headers: &HeaderMap) -> Option<Principal> {
        self.identify(headers).map(|(p, _)| p)
    }

    /// The client address sign-ins are limited by: the peer's, unless a trusted proxy
    /// header is configured (then its last entry, the one the proxy added). `None` when
    /// the app is served without connection info.
    pub fn client_address(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if let Some(name) = &self.trusted_header {
            let forwarded = headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|v| v.trim().parse::<IpAddr>().ok())
                .next_back();
            if forwarded.is_some() {
                return forwarded;
            }
        }
        peer.map(|p| p.ip())
    }

    /// Said once, at the first request that shows it: without the peer's address (and no
    /// trusted proxy header), sign-ins are limited per account only.
    fn warn_no_peer_address(&self) {
        if !self.warned_no_peer.load(Ordering::Relaxed)
            && !self.warned_no_peer.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "the dashboard is served without connection info, so failed sign-ins are limited per account only; serve the app with `into_make_service_with_connect_info::<SocketAddr>()` to limit them per client address too"
            );
        }
    }

    /// `Set-Cookie` for a new session (or, with `None`, one that clears it).
    pub fn cookie(&self, token: Option<&str>, secure: bool) -> HeaderValue {
        let (value, max_age) = match token {
            Some(t) => (t, self.session_ttl.as_secs()),
            None => ("", 0),
        };
        let secure = if secure || self.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
            self.base.as_str()
        ))
        .expect("a cookie of visible ASCII")
    }

    /// Whether the request reached us over TLS (as a trusted proxy says).
    pub fn over_tls(&self, headers: &HeaderMap) -> bool {
        self.trusted_header.is_some()
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn auth() -> Auth {
        Auth::new(
            &Access::Protected(Credentials {
                users: vec![User {
                    name: "ann".into(),
                    password: Password::Plain("correct horse".into()),
                    role: Role::Admin,
                }],
                tokens: vec![ApiToken {
                    token: "0123456789abcdef-viewer".into(),
                    role: Role::Viewer,
                }],
            }),
            BasePath::parse("/ops").unwrap(),
            AuthOptions {
                session_ttl: Duration::from_secs(60),
                trusted_header: None,
                secure_cookies: false,
            },
        )
        .unwrap()
    }

    #[test]
    fn passwords_tokens_and_sessions() {
        let a = auth();
        let memory = &mut Vec::new();
        assert_eq!(
            a.verify("ann", "correct horse", memory).unwrap().role,
            Role::Admin
        );
        assert!(a.verify("ann", "wrong", memory).is_none());
        assert!(a.verify("bob", "correct horse", memory).is_none());
        let bearer = |token: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
            a.principal(&h)
        };
        assert_eq!(
            bearer("0123456789abcdef-viewer").unwrap().role,
            Role::Viewer
        );
        for wrong in [
            "0123456789abcdef-viewe",
            "0123456789abcdef-viewerr",
            "",
            "x",
        ] {
            assert!(bearer(wrong).is_none(), "{wrong:?}");
        }
        let token = a.start_session(a.verify("ann", "correct horse", memory).unwrap());
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={token}")).unwrap(),
        );
        assert_eq!(a.principal(&h).unwrap().name, "ann");
        assert!(
            a.identify(&h).unwrap().1.is_some(),
            "a session says when it ends"
        );
        a.sessions.end(&token);
        assert!(a.principal(&h).is_none());
    }

    #[test]
    fn cookies_carry_their_flags() {
        let a = auth();
        let c = a.cookie(Some("t"), false);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/ops"));
        assert!(c.contains("Max-Age=60") && !c.contains("Secure"));
        assert!(
            a.cookie(Some("t"), true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }

    #[test]
    fn the_client_is_the_peer_unless_a_proxy_is_trusted() {
        let mut a = auth();
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        assert_eq!(a.client_address(&h, Some(peer)), Some(peer.ip()));
        assert_eq!(a.client_address(&h, None), None);
        a.trusted_header = Some("x-forwarded-for".into());
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 1.2.3.4"),
        );
        assert_eq!(
            a.client_address(&h, Some(peer)),
            Some("1.2.3.4".parse::<IpAddr>().unwrap())
        );
    }
}
