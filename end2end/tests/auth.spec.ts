import { test, expect, type Page } from "@playwright/test";
import { basePath, baseURL, freePort, startServer, stopServer, type Server } from "../support/server";

// A server with an admin and a viewer.
let server: Server;
let port = 0;
const url = (path: string) => `${baseURL(port)}${basePath}${path}`;
const ADMIN = { name: "ann", password: "ann-password-for-tests" };
const VIEWER = { name: "vic", password: "vic-password-for-tests" };

test.beforeAll(async () => {
  port = await freePort();
  server = await startServer(port, {
    SIGHTLINE_AUTH: "on",
    SIGHTLINE_USERNAME: ADMIN.name,
    SIGHTLINE_PASSWORD: ADMIN.password,
    SIGHTLINE_VIEWER_USERNAME: VIEWER.name,
    SIGHTLINE_VIEWER_PASSWORD: VIEWER.password,
  });
});

test.afterAll(async () => {
  if (server) await stopServer(server);
});

async function signIn(page: Page, who: { name: string; password: string }) {
  await page.getByLabel("Username").fill(who.name);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("pages send you to sign in, and back where you were after", async ({ page }) => {
  await page.goto(url("/errors?range=15m"));
  await expect(page).toHaveURL(/\/sightline\/login\?next=/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Sections" })).toBeHidden();

  await signIn(page, { name: ADMIN.name, password: "not it" });
  await expect(page.getByTestId("login-error")).toHaveText("Wrong username or password.");

  await signIn(page, ADMIN);
  await expect(page).toHaveURL(url("/errors?range=15m"));
  await expect(page.getByRole("heading", { name: "Errors", level: 1 })).toBeVisible();
  await expect(page.getByTestId("who")).toHaveText("ann · admin");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("live-badge")).toContainText("Connected");

  const cookies = await page.context().cookies(url("/"));
  const session = cookies.find((c) => c.name === "sightline_session")!;
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe("Strict");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sightline\/login/);
  await page.goto(url("/"));
  await expect(page).toHaveURL(/\/sightline\/login\?next=/);
  // The old session is gone on the server too.
  const api = await page.request.get(url("/api/snapshot"), {
    headers: { cookie: `sightline_session=${session.value}` },
  });
  expect(api.status()).toBe(401);
});

test("a viewer reads everything but sees no admin controls", async ({ page }) => {
  await page.goto(url("/settings"));
  await signIn(page, VIEWER);
  await expect(page).toHaveURL(url("/settings"));
  await expect(page.getByTestId("who")).toHaveText("vic · viewer");
  await expect(page.getByTestId("read-only")).toBeVisible();
  await expect(page.getByTestId("retention-days")).toBeDisabled();
  await expect(page.getByRole("button", { name: "Save" })).toHaveCount(0);
  await page.goto(url("/events"));
  await expect(page.getByRole("heading", { name: "Events", level: 1 })).toBeVisible();
  await expect(page.getByTestId("send-event")).toHaveCount(0);
  const post = await page.request.post(url("/api/events"), { data: { event: "nope" } });
  expect(post.status()).toBe(403);
});

test("an admin sees the admin controls", async ({ page }) => {
  await page.goto(url("/settings"));
  await signIn(page, ADMIN);
  await expect(page.getByRole("button", { name: "Save" })).toBeVisible();
  await expect(page.getByTestId("read-only")).toHaveCount(0);
  await page.goto(url("/events"));
  await expect(page.getByTestId("send-event")).toBeVisible();
});

test("signing out in one tab sends the other tabs to the login page", async ({ browser }) => {
  const context = await browser.newContext();
  try {
    const first = await context.newPage();
    await first.goto(url("/"));
    await signIn(first, ADMIN);
    await expect(first.locator(".app")).toHaveAttribute("data-hydrated", "true");
    const second = await context.newPage();
    await second.goto(url("/events"));
    await expect(second.locator(".app")).toHaveAttribute("data-hydrated", "true");
    await expect(second.getByTestId("live-badge")).toContainText("Connected");

    await first.getByRole("button", { name: "Sign out" }).click();
    // The second tab's stream ends with its session, and the tab goes to sign in again,
    // to come back to where it was.
    await expect(second).toHaveURL(/\/sightline\/login\?next=%2Fsightline%2Fevents/);
    await expect(second.getByRole("heading", { name: "Sign in" })).toBeVisible();
  } finally {
    await context.close();
  }
});

test("the login page carries no figure of the service", async ({ page }) => {
  await page.goto(url("/login"));
  const html = await page.content();
  expect(html).toContain('id="sightline-snapshot">null</script>');
  for (const secret of ["timestamp_ms", "instance_id", "pid ", "live connections"]) {
    expect(html).not.toContain(secret);
  }
});
