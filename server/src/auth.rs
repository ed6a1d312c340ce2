//! Access control: who may read the dashboard and its API, and who may change things.
//!
//! Users sign in on `{path}/login` and get a session cookie (`HttpOnly`, `SameSite=Strict`,
//! `Secure` behind TLS, expiring, revoked by logout); scripts send
//! `Authorization: Bearer <token>`. Passwords are kept as Argon2 hashes and checked in
//! constant time (as are tokens). Failed sign-ins are limited per client address.
//!
//! One middleware guards every route below the base path except the login page, the
//! sign-in endpoint and the static assets: pages redirect to the login page, API routes
//! answer 401 JSON, and a viewer gets 403 on the routes that change things.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::{
    Json,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use sightline_app::BasePath;
pub use sightline_app::auth::{Principal, Role};
use subtle::ConstantTimeEq;

/// Name of the session cookie.
pub const COOKIE: &str = "sightline_session";
/// Failed sign-ins allowed per client address within [`LIMIT_WINDOW`].
pub const LIMIT_FAILURES: usize = 5;
pub const LIMIT_WINDOW: Duration = Duration::from_secs(300);

/// How the dashboard is protected.
#[derive(Clone, Debug, Default)]
pub enum Access {
    /// Anyone who can reach it is an admin. Only ever chosen explicitly.
    Off,
    /// A random admin password, made at start and written to the log (for a dashboard
    /// on loopback with nothing configured).
    #[default]
    Generated,
    Protected(Credentials),
}

/// Who may sign in, and the API tokens scripts may send.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub users: Vec<User>,
    pub tokens: Vec<ApiToken>,
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub password: Password,
    pub role: Role,
}

#[derive(Clone)]
pub enum Password {
    /// Hashed once at start; the plain text is not kept after that.
    Plain(String),
    /// A PHC string (`$argon2id$...`), from `sightline --hash-password`.
    Hash(String),
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Password::Plain(..)",
            Self::Hash(_) => "Password::Hash(..)",
        })
    }
}

#[derive(Clone)]
pub struct ApiToken {
    pub token: String,
    pub role: Role,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiToken({:?}, ..)", self.role)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password hash of user {0:?} is not a valid PHC string: {1}")]
    BadHash(String, String),
    #[error("hashing a password failed: {0}")]
    Hashing(String),
    #[error("an API token must be at least 16 characters long")]
    ShortToken,
}

/// Hashes a password with Argon2id and a random salt (what `--hash-password` prints).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Hashing(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// A random token of 32 bytes, hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Account {
    name: String,
    hash: String,
    role: Role,
}

struct Session {
    principal: Principal,
    expires: Instant,
}

/// The access state every guarded request consults.
pub struct Auth {
    /// `None`: access control is off.
    accounts: Option<Vec<Account>>,
    tokens: Vec<ApiToken>,
    /// Verified against when the user name is unknown, so both cases take as long.
    dummy_hash: String,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
                tokens = c.tokens;
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
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
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

    /// Checks a name and password (constant time in the password; an unknown name costs
    /// the same as a wrong password).
    pub fn verify(&self, name: &str, password: &str) -> Option<Principal> {
        let accounts = self.accounts.as_ref()?;
        let account = accounts.iter().find(|a| a.name == name);
        let hash = account.map_or(self.dummy_hash.as_str(), |a| a.hash.as_str());
        let parsed = PasswordHash::new(hash).ok()?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        let account = account.filter(|_| ok)?;
        Some(Principal {
            name: account.name.clone(),
            role: account.role,
            open: false,
        })
    }

    fn bearer(&self, token: &str) -> Option<Principal> {
        let mut found = None;
        // Every token is compared, each in constant time.
        for t in &self.tokens {
            if bool::from(t.token.as_bytes().ct_eq(token.as_bytes())) {
                found = Some(t.role);
            }
        }
        found.map(|role| Principal {
            name: "api token".into(),
            role,
            open: false,
        })
    }

    pub fn start_session(&self, principal: Principal) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            token.clone(),
            Session {
                principal,
                expires: now + self.session_ttl,
            },
        );
        token
    }

    fn session(&self, token: &str) -> Option<Principal> {
        let mut sessions = lock(&self.sessions);
        let session = sessions.get(token)?;
        if session.expires <= Instant::now() {
            sessions.remove(token);
            return None;
        }
        Some(session.principal.clone())
    }

    pub fn end_session(&self, token: &str) {
        lock(&self.sessions).remove(token);
    }

    /// Who sent this request, if anyone we know.
    pub fn principal(&self, headers: &HeaderMap) -> Option<Principal> {
        if self.is_open() {
            return Some(Principal {
                name: "anyone".into(),
                role: Role::Admin,
                open: true,
            });
        }
        if let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return self.bearer(token.trim());
        }
        session_cookie(headers).and_then(|token| self.session(&token))
    }

    /// The client address the limit counts by: the peer's, unless a trusted proxy header
    /// is configured (then its last entry, the one the proxy added).
    pub fn client_address(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
        if let Some(name) = &self.trusted_header {
            let forwarded = headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|v| v.trim().parse::<IpAddr>().ok())
                .next_back();
            if let Some(ip) = forwarded {
                return ip;
            }
        }
        peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip())
    }

    /// `Err(seconds to wait)` while `ip` has used up its failed sign-ins.
    pub fn check_limit(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = lock(&self.failures);
        let Some(times) = failures.get_mut(&ip) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= LIMIT_WINDOW)
        {
            times.pop_front();
        }
        if times.len() < LIMIT_FAILURES {
            return Ok(());
        }
        let oldest = *times.front().expect("at the limit, so not empty");
        Err((LIMIT_WINDOW - now.duration_since(oldest)).as_secs().max(1))
    }

    pub fn note_failure(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut failures = lock(&self.failures);
        if failures.len() > 10_000 {
            failures.retain(|_, t| {
                t.back()
                    .is_some_and(|t| now.duration_since(*t) < LIMIT_WINDOW)
            });
        }
        failures.entry(ip).or_default().push_back(now);
    }

    pub fn note_success(&self, ip: IpAddr) {
        lock(&self.failures).remove(&ip);
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

    /// Paths anyone may fetch: the login page, signing in and out, and static assets.
    pub fn is_public(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix(self.base.as_str()) else {
            return true;
        };
        matches!(
            rest,
            "/login" | "/api/login" | "/api/logout" | "/favicon.svg"
        ) || rest.starts_with("/pkg/")
    }

    /// Routes that change things: settings, broadcasting.
    pub fn is_admin_only(&self, method: &Method, path: &str) -> bool {
        let Some(rest) = path.strip_prefix(self.base.as_str()) else {
            return false;
        };
        method == Method::POST
            && matches!(
                rest,
                "/api/settings" | "/api/events" | "/api/send" | "/api/fn/save_settings"
            )
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

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The guard in front of every dashboard route.
pub async fn guard(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if auth.is_public(&path) {
        if let Some(p) = auth.principal(req.headers()) {
            req.extensions_mut().insert(p);
        }
        return next.run(req).await;
    }
    let api = path.starts_with(&auth.base.join("/api/"));
    let Some(principal) = auth.principal(req.headers()) else {
        if api {
            let mut response = json_error(
                StatusCode::UNAUTHORIZED,
                "sign in first: a session cookie from the login page, or Authorization: Bearer <token>",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sightline\""),
            );
            return response;
        }
        let target = req
            .uri()
            .path_and_query()
            .map_or(path.clone(), |pq| pq.as_str().to_owned());
        let login = format!(
            "{}?next={}",
            auth.base.join("/login"),
            sightline_app::history::encode_component(&target)
        );
        return Redirect::to(&login).into_response();
    };
    if !principal.is_admin() && auth.is_admin_only(req.method(), &path) {
        return json_error(StatusCode::FORBIDDEN, "this needs the admin role");
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    /// Where to go after signing in (a path below the base path).
    pub next: Option<String>,
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `POST {path}/api/login`: a form (redirects) or JSON (answers JSON).
pub async fn login(State(auth): State<Arc<Auth>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let headers = req.headers().clone();
    let Ok(body) = axum::body::to_bytes(req.into_body(), 16 * 1024).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the sign-in body is too large",
        );
    };
    let form = is_form(&headers);
    let parsed: Result<LoginForm, String> = if form {
        serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let Ok(credentials) = parsed else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send username and password as JSON or as a form",
        );
    };
    let ip = auth.client_address(&headers, peer);
    if let Err(wait) = auth.check_limit(ip) {
        let mut response = if form {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                format!(
                    "<!DOCTYPE html><title>Too many attempts</title><p>Too many failed sign-ins from this address. Try again in {wait} s. <a href=\"{}\">Back to sign-in</a></p>",
                    auth.base.join("/login")
                ),
            )
                .into_response()
        } else {
            json_error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many failed sign-ins from this address; try again in {wait} s"),
            )
        };
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return response;
    }
    let verified = {
        let auth = auth.clone();
        let (name, password) = (credentials.username.clone(), credentials.password.clone());
        tokio::task::spawn_blocking(move || auth.verify(&name, &password))
            .await
            .ok()
            .flatten()
    };
    let next = credentials
        .next
        .filter(|n| n.starts_with(auth.base.as_str()) && !n.starts_with("//"))
        .unwrap_or_else(|| auth.base.as_str().to_owned());
    let Some(principal) = verified else {
        auth.note_failure(ip);
        if form {
            let back = format!(
                "{}?error=1&next={}",
                auth.base.join("/login"),
                sightline_app::history::encode_component(&next)
            );
            return Redirect::to(&back).into_response();
        }
        return json_error(StatusCode::UNAUTHORIZED, "wrong username or password");
    };
    auth.note_success(ip);
    let token = auth.start_session(principal.clone());
    let cookie = auth.cookie(Some(&token), auth.over_tls(&headers));
    let mut response = if form {
        Redirect::to(&next).into_response()
    } else {
        Json(serde_json::json!({ "name": principal.name, "role": principal.role })).into_response()
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// `POST {path}/api/logout`: ends the session and clears the cookie.
pub async fn logout(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Response {
    if let Some(token) = session_cookie(&headers) {
        auth.end_session(&token);
    }
    let cookie = auth.cookie(None, auth.over_tls(&headers));
    let mut response = if is_form(&headers) || headers.get(header::CONTENT_TYPE).is_none() {
        Redirect::to(&auth.base.join("/login")).into_response()
    } else {
        Json(serde_json::json!({ "signed_out": true })).into_response()
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
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
        assert_eq!(a.verify("ann", "correct horse").unwrap().role, Role::Admin);
        assert!(a.verify("ann", "wrong").is_none());
        assert!(a.verify("bob", "correct horse").is_none());
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdef-viewer"),
        );
        assert_eq!(a.principal(&h).unwrap().role, Role::Viewer);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdef-viewe"),
        );
        assert!(a.principal(&h).is_none());
        let token = a.start_session(a.verify("ann", "correct horse").unwrap());
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={token}")).unwrap(),
        );
        assert_eq!(a.principal(&h).unwrap().name, "ann");
        a.end_session(&token);
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
    fn the_limit_counts_the_peer_unless_a_proxy_is_trusted() {
        let mut a = auth();
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        assert_eq!(a.client_address(&h, Some(peer)), peer.ip());
        a.trusted_header = Some("x-forwarded-for".into());
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 1.2.3.4"),
        );
        assert_eq!(
            a.client_address(&h, Some(peer)),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        let ip = peer.ip();
        for _ in 0..LIMIT_FAILURES {
            assert!(a.check_limit(ip).is_ok());
            a.note_failure(ip);
        }
        let wait = a.check_limit(ip).unwrap_err();
        assert!((1..=300).contains(&wait));
    }
}
