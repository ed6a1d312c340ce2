//! The tags that load the WASM bundle and hydrate the page's islands.
//!
//! Written here rather than taken from `leptos::HydrationScripts`, whose file names depend
//! on how the embedding binary was compiled; these always match what cargo-leptos writes.
//! The boot script hydrates every `<leptos-island>` in document order (a lazy island's
//! code is fetched first; one that fails is logged and the others go on), then marks the
//! page hydrated (`data-hydrated` on `.app`), and
//! remembers the browser's time zone for the server's next render ([`crate::clock`]).

use leptos::prelude::*;

use crate::BasePath;

/// The `content` of the `<meta name=...>` the server rendered (browser only: `None` on the
/// server, which knows these values from context).
pub fn page_meta(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()?
            .document()?
            .query_selector(&format!("meta[name=\"{name}\"]"))
            .ok()??
            .get_attribute("content")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        None
    }
}

/// The cargo-leptos `name` in Cargo.toml: the site is `pkg/sightline.{js,wasm,css}`.
pub const SITE_NAME: &str = "sightline";

pub fn asset(base: &BasePath, extension: &str) -> String {
    base.join(&format!("/pkg/{SITE_NAME}.{extension}"))
}

#[component]
pub fn HydrationScripts(base: BasePath) -> impl IntoView {
    // Only islands hydrate: the page's own resources need not be sent along for hydration
    // (as `leptos::HydrationScripts` does in islands mode).
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let js = asset(&base, "js");
    let wasm = asset(&base, "wasm");
    let tz = crate::clock::COOKIE;
    let boot = format!(
        "document.cookie = `{tz}=${{-new Date().getTimezoneOffset()}}; Path=/; Max-Age=31536000; SameSite=Lax`;
import({js:?}).then(m => m.default({{ module_or_path: {wasm:?} }}).then(async () => {{
  m.hydrate();
  for (const el of document.querySelectorAll(\"leptos-island\")) {{
    const island = m[el.dataset.component];
    try {{
      if (!island) throw new Error(\"not in this build\");
      const lazy = island(el);
      if (lazy) await lazy;
    }} catch (e) {{
      console.error(\"island\", el.dataset.component, e);
    }}
  }}
  m.start();
  document.querySelector(\".app\")?.setAttribute(\"data-hydrated\", \"true\");
}}));"
    );
    view! {
        <link rel="modulepreload" href=js.clone()/>
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script type="module" inner_html=boot></script>
    }
}
