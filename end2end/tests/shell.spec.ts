import { test, expect, type Page } from "@playwright/test";
import { basePath } from "../support/server";

const pages = [
  { path: "", heading: "Dashboard", nav: "Dashboard" },
  { path: "/system", heading: "System", nav: "System" },
  { path: "/endpoints", heading: "Endpoints", nav: "Endpoints" },
  { path: "/app-metrics", heading: "App Metrics", nav: "App Metrics" },
  { path: "/errors", heading: "Errors", nav: "Errors" },
  { path: "/events", heading: "Events", nav: "Events" },
  { path: "/settings", heading: "Settings", nav: "Settings" },
];

async function hydrated(page: Page) {
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
}

test.describe("server-rendered, JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  for (const { path, heading } of pages) {
    test(`${heading} renders its heading`, async ({ page }) => {
      const res = await page.goto(basePath + path);
      expect(res?.status()).toBe(200);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
      await expect(page).toHaveTitle(`${heading} · Sightline`);
      await expect(page.getByRole("navigation", { name: "Sections" })).toBeVisible();
      await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "false");
    });
  }
});

test("the document links the hydration script and the stylesheet", async ({ request }) => {
  const html = await (await request.get(basePath)).text();
  expect(html).toContain(`${basePath}/pkg/sightline.js`);
  expect(html).toContain(`${basePath}/pkg/sightline.css`);
  const wasm = await request.get(`${basePath}/pkg/sightline.wasm`, {
    headers: { "accept-encoding": "br, gzip" },
  });
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()["content-type"]).toBe("application/wasm");
  expect(["br", "gzip"]).toContain(wasm.headers()["content-encoding"]);
});

test("the theme toggle works after hydration and survives a reload", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto(basePath);
  await hydrated(page);
  const html = page.locator("html");
  await expect(html).not.toHaveAttribute("data-theme", /.*/);
  const toggle = page.getByRole("button", { name: "Toggle dark mode" });

  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "dark");
  await page.reload();
  await expect(html).toHaveAttribute("data-theme", "dark");

  await hydrated(page);
  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "light");
  await page.reload();
  await expect(html).toHaveAttribute("data-theme", "light");
});

test("the theme follows the system preference until one is chosen", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto(basePath);
  await hydrated(page);
  const background = () =>
    page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const dark = await background();
  await page.emulateMedia({ colorScheme: "light" });
  expect(await background()).not.toBe(dark);
  // Choosing dark while the system is light keeps dark.
  await page.getByRole("button", { name: "Toggle dark mode" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  expect(await background()).toBe(dark);
});

test("the sidebar reaches every section and marks the one shown", async ({ page }) => {
  await page.goto(basePath);
  await hydrated(page);
  const nav = page.getByRole("navigation", { name: "Sections" });

  for (const { path, heading, nav: label } of [...pages.slice(1), pages[0]]) {
    await nav.getByRole("link", { name: label, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${basePath}${path}$`));
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
    await expect(nav.getByRole("link", { name: label, exact: true })).toHaveAttribute(
      "aria-current",
      "page",
    );
    // Each section is a server-rendered page whose islands hydrate and go live.
    await hydrated(page);
    await expect(page.getByTestId("live-badge")).toContainText("Connected");
  }
});

test("an unknown address shows the 404 page with status 404", async ({ page }) => {
  const res = await page.goto(`${basePath}/no/such/page`);
  expect(res?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
  await page.getByRole("link", { name: "Back to the dashboard" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
});

test("the root redirects to the dashboard", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(new RegExp(`${basePath}$`));
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
});
