//! Light and dark themes: follow the system preference until the user picks one, then
//! remember the pick in a cookie so the server renders it on the next visit (no flash).

use leptos::prelude::*;

/// Cookie that remembers an explicit choice; absent means "follow the system".
pub const COOKIE: &str = "sightline_theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    pub fn toggled(self) -> Self {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }

    /// Finds the theme in a `Cookie:` header value.
    pub fn from_cookie_header(header: &str) -> Option<Self> {
        crate::cookie::find(header, COOKIE).and_then(Self::parse)
    }
}

/// The theme the current request asked for with its cookie, if any (server only).
pub fn requested_theme() -> Option<Theme> {
    crate::cookie::from_request(COOKIE).and_then(|value| Theme::parse(&value))
}

/// The theme the page shows now: the explicit choice on `<html>`, else the system's.
#[cfg(feature = "hydrate")]
fn effective_theme() -> Theme {
    let window = web_sys::window().expect("a browser window");
    let explicit = window
        .document()
        .and_then(|d| d.document_element())
        .and_then(|html| html.get_attribute("data-theme"))
        .and_then(|value| Theme::parse(&value));
    explicit.unwrap_or_else(|| {
        let dark = window
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .is_some_and(|query| query.matches());
        if dark { Theme::Dark } else { Theme::Light }
    })
}

#[cfg(feature = "hydrate")]
fn apply(theme: Theme) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(html) = document.document_element() {
        let _ = html.set_attribute("data-theme", theme.as_str());
    }
    if let Ok(document) = document.dyn_into::<web_sys::HtmlDocument>() {
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            theme.as_str()
        );
        let _ = document.set_cookie(&cookie);
    }
}

/// The header button that switches between light and dark.
#[island]
pub fn ThemeToggle() -> impl IntoView {
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        apply(effective_theme().toggled());
    };
    view! {
        <button
            type="button"
            class="theme-toggle"
            aria-label="Toggle dark mode"
            title="Toggle dark mode"
            on:click=on_click
        >
            <span class="theme-icon" aria-hidden="true"></span>
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cookie_among_others() {
        assert_eq!(
            Theme::from_cookie_header("a=1; sightline_theme=dark; b=2"),
            Some(Theme::Dark)
        );
        assert_eq!(Theme::from_cookie_header("sightline_theme=blue"), None);
        assert_eq!(Theme::from_cookie_header("x_sightline_theme=dark"), None);
        assert_eq!(Theme::Light.toggled(), Theme::Dark);
    }
}
