//! What access control is configured with: users, passwords, API tokens.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
use sightline_app::auth::Role;

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
