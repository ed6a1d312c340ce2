//! The short way to start Sightline:
//! `Sightline::builder().path("/ops/metrics").start()?`.

use std::path::PathBuf;

use crate::auth::{Access, ApiToken, Credentials, Password, Role, User};
use crate::cluster::{ClusterSettings, DEFAULT_CLUSTER};
use crate::{BasePath, Config, Error, Sightline};

/// Settings for [`Sightline`], one call each; anything not set keeps [`Config`]'s default.
#[derive(Debug, Default)]
#[must_use]
pub struct Builder {
    config: Config,
    path: Option<String>,
    prefix: Option<String>,
}

impl From<Config> for Builder {
    fn from(config: Config) -> Self {
        Self {
            config,
            path: None,
            prefix: None,
        }
    }
}

impl Builder {
    /// Where the dashboard and its API are mounted (default `/sightline`); checked by
    /// [`Builder::start`].
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// A path prefix not to record (a health check, say). May be repeated.
    pub fn exclude(mut self, prefix: impl Into<String>) -> Self {
        self.config.exclude.push(prefix.into());
        self
    }

    /// A user who may sign in, with a plain password (hashed at start) or a PHC hash from
    /// `sightline --hash-password`. May be repeated; replaces the generated password.
    pub fn user(mut self, name: impl Into<String>, password: Password, role: Role) -> Self {
        self.credentials().users.push(User {
            name: name.into(),
            password,
            role,
        });
        self
    }

    /// An API token (at least 16 characters) that scripts send as `Authorization: Bearer`.
    pub fn token(mut self, token: impl Into<String>, role: Role) -> Self {
        self.credentials().tokens.push(ApiToken {
            token: token.into(),
            role,
        });
        self
    }

    /// Access control as a whole (see [`Access`]).
    pub fn access(mut self, access: Access) -> Self {
        self.config.access = access;
        self
    }

    /// The SQLite history database (default `sightline.db`).
    pub fn history(mut self, db_path: impl Into<PathBuf>) -> Self {
        self.config.db_path = Some(db_path.into());
        self
    }

    /// History in PostgreSQL, shared by the instances of one service
    /// (`postgres://user:password@host:5432/db`); takes the place of the SQLite file.
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.config.database_url = Some(url.into().into());
        self
    }

    /// Keep no history: the live view only.
    pub fn without_history(mut self) -> Self {
        self.config.db_path = None;
        self.config.database_url = None;
        self
    }

    /// Join the instances that share this Redis (`redis://host:6379`): the dashboard of
    /// each shows them all. See [`Builder::instance_id`] and [`Builder::cluster`].
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        let prefix = self.config.cluster.take().map(|c| c.prefix);
        self.config.cluster = Some(ClusterSettings {
            redis_url: url.into(),
            prefix: prefix.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned()),
        });
        self
    }

    /// This instance's name among several (default: `HOSTNAME`, else the host name).
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.config.instance_id = id.into();
        self
    }

    /// The prefix of the Redis keys and channels (default `sightline`), so several
    /// services can share one Redis; checked by [`Builder::start`]. Needs [`Builder::redis`].
    pub fn cluster(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Any other setting.
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// The settings as they stand, with the path checked.
    pub fn build(self) -> Result<Config, Error> {
        let mut config = self.config;
        if let Some(path) = self.path {
            config.path = BasePath::parse(&path)?;
        }
        if let Some(prefix) = self.prefix {
            let prefix = crate::config::check_prefix(&prefix).map_err(Error::Config)?;
            match config.cluster.as_mut() {
                Some(cluster) => cluster.prefix = prefix,
                None => return Err(Error::Config("a cluster name needs a Redis URL".into())),
            }
        }
        Ok(config)
    }

    /// Starts Sightline (see [`Sightline::start`]); call it inside the tokio runtime that
    /// serves the app.
    pub fn start(self) -> Result<Sightline, Error> {
        Sightline::start(self.build()?)
    }

    fn credentials(&mut self) -> &mut Credentials {
        if !matches!(self.config.access, Access::Protected(_)) {
            self.config.access = Access::Protected(Credentials::default());
        }
        match &mut self.config.access {
            Access::Protected(credentials) => credentials,
            _ => unreachable!("set just above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_config_it_was_told() {
        let config = Sightline::builder()
            .path("/ops/metrics")
            .exclude("/health")
            .user("ops", Password::Plain("correct horse".into()), Role::Admin)
            .token("0123456789abcdef0123", Role::Viewer)
            .without_history()
            .configure(|c| c.max_routes = 7)
            .build()
            .expect("valid settings");
        assert_eq!(config.path.as_str(), "/ops/metrics");
        assert_eq!(config.exclude, ["/health"]);
        assert_eq!(config.db_path, None);
        assert_eq!(config.max_routes, 7);
        let Access::Protected(credentials) = &config.access else {
            panic!("a user makes access protected, got {:?}", config.access);
        };
        assert_eq!(credentials.users.len(), 1);
        assert_eq!(credentials.tokens.len(), 1);
    }

    #[test]
    fn a_bad_path_is_an_error_not_a_panic() {
        let err = Sightline::builder().path("/ops/{id}").build().unwrap_err();
        assert!(matches!(err, Error::Path(_)), "{err}");
        assert!(err.to_string().contains("/ops/{id}"), "{err}");
    }
}
