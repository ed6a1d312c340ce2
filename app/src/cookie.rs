//! Cookies the browser keeps for the server's first paint (theme, time zone).

/// The value of cookie `name` in a `Cookie:` header value.
pub fn find<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
}

/// The value of cookie `name` on the request being rendered (server only).
pub fn from_request(name: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let parts = leptos::prelude::use_context::<http::request::Parts>()?;
        parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|header| find(header, name).map(str::to_owned))
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = name;
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_cookie_among_others_by_its_whole_name() {
        assert_eq!(
            super::find("a=1; sightline_tz=-60; b=2", "sightline_tz"),
            Some("-60")
        );
        assert_eq!(super::find("x_sightline_tz=60", "sightline_tz"), None);
        assert_eq!(super::find("", "sightline_tz"), None);
    }
}
