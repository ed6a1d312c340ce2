//! Who is looking: the signed-in user and their role, shared by the server (which decides)
//! and the pages (which show or hide admin controls accordingly).
//!
//! The server puts the request's [`Principal`] in the request's extensions; the pages read
//! it while rendering and write it into a `<meta>` tag, from which the browser reads it
//! back when it hydrates.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Name of the `<meta>` tag that carries the user to the browser.
pub const META_NAME: &str = "sightline-user";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every page and API.
    Viewer,
    /// Also changes settings and broadcasts events.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Self::Viewer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A signed-in user (or an API token's holder).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// Whether access control is off (everyone is an admin then, and there is no logout).
    #[serde(default)]
    pub open: bool,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The current user in context: `None` on the login page.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Option<Principal>);

impl CurrentUser {
    /// The user the server attached to this request (server), or the one the server wrote
    /// into the page (browser).
    pub fn from_request() -> Self {
        #[cfg(feature = "ssr")]
        {
            let principal = use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Principal>().cloned());
            Self(principal)
        }
        #[cfg(not(feature = "ssr"))]
        {
            Self(read_meta())
        }
    }

    /// `name:role[:open]` for the `<meta>` tag.
    pub fn meta_content(&self) -> String {
        self.0.as_ref().map_or_else(String::new, |p| {
            format!(
                "{}:{}{}",
                p.role.as_str(),
                if p.open { "open:" } else { "" },
                p.name
            )
        })
    }
}

#[cfg(not(feature = "ssr"))]
fn read_meta() -> Option<Principal> {
    parse_meta(&crate::hydration::page_meta(META_NAME)?)
}

/// Reads [`CurrentUser::meta_content`] back.
pub fn parse_meta(content: &str) -> Option<Principal> {
    let (role, rest) = content.split_once(':')?;
    let role = Role::parse(role)?;
    let (open, name) = match rest.strip_prefix("open:") {
        Some(name) => (true, name),
        None => (false, rest),
    };
    Some(Principal {
        name: name.to_owned(),
        role,
        open,
    })
}

/// Name of the `<meta>` tag present when the server made the admin password at start.
pub const GENERATED_META_NAME: &str = "sightline-generated-password";

/// Put in context by the server when no credentials were configured and it made an admin
/// password: the login page then says where that password was written.
#[derive(Clone, Copy, Debug)]
pub struct GeneratedPassword;

/// Whether the admin password was generated (server: from context; browser: from the page).
pub fn password_generated() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<GeneratedPassword>().is_some()
    }
    #[cfg(not(feature = "ssr"))]
    {
        crate::hydration::page_meta(GENERATED_META_NAME).is_some()
    }
}

/// The current user: as `App` provides it on the server, from the page in an island.
pub fn use_user() -> Option<Principal> {
    use_context::<CurrentUser>()
        .unwrap_or_else(CurrentUser::from_request)
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips() {
        for p in [
            Principal {
                name: "ann:x".into(),
                role: Role::Admin,
                open: false,
            },
            Principal {
                name: "bo".into(),
                role: Role::Viewer,
                open: true,
            },
        ] {
            let content = CurrentUser(Some(p.clone())).meta_content();
            assert_eq!(parse_meta(&content), Some(p));
        }
        assert_eq!(parse_meta(""), None);
    }
}
