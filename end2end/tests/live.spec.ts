import { test, expect } from "@playwright/test";
import { basePath, baseURL, freePort, startServer, stopServer } from "../support/server";

const hydrated = (page: import("@playwright/test").Page) =>
  expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

const figure = (page: import("@playwright/test").Page, id: string) =>
  page.getByTestId(id).locator(".stat-value");

test.describe("first paint, JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("the dashboard is rendered from the latest snapshot, not a waiting state", async ({ page }) => {
    await page.goto(basePath);
    await expect(figure(page, "total-requests")).toHaveText(/^[\d,]+$/);
    await expect(page.getByRole("meter", { name: "Memory" })).toHaveAttribute("aria-valuenow", /^\d/);
    await expect(page.getByTestId("server-bar")).toContainText("pid ");
  });
});

test("the total rises with the requests the test sends", async ({ page, request }) => {
  await page.goto(basePath);
  await hydrated(page);
  await expect(page.getByTestId("live-badge")).toContainText("Connected");
  await expect(page.getByTestId("live-badge")).toContainText(/updated \d+s ago/);

  // Everything else this suite does goes to the dashboard's own (unrecorded) paths.
  const before = Number((await figure(page, "total-requests").innerText()).replace(/,/g, ""));
  for (let i = 0; i < 5; i++) {
    expect((await request.get(`/api/users/${i}`)).status()).toBe(200);
  }
  expect((await request.get("/api/users/999")).status()).toBe(404);
  await expect(figure(page, "total-requests")).toHaveText(String(before + 6), { timeout: 15_000 });
  await expect(page.getByTestId("top-requests")).toContainText("/api/users/{id}");
  await expect(page.getByTestId("status-distribution").locator('[data-status-code="404"]')).toBeVisible();
});

test("the live charts start from history and grow with every finished window", async ({ page }) => {
  await page.goto(basePath);
  await hydrated(page);
  const charts = page.getByTestId("live-charts");
  const windows = async () =>
    ((await charts.getAttribute("data-windows")) ?? "").split(",").filter(Boolean).map(Number);
  const newest = async () => Math.max(0, ...(await windows()));
  const before = await newest();
  // A window finishes every 10 s, with or without requests, and the next snapshot brings it.
  await expect.poll(newest, { timeout: 25_000 }).toBeGreaterThan(before);
  const after = await windows();
  expect(after.every((t, i) => t % 10_000 === 0 && (i === 0 || t > after[i - 1])), after.join()).toBe(true);
  expect(after[after.length - 1] - after[0]).toBeLessThan(15 * 60_000);
  for (const id of ["live-rps", "live-p95", "live-errors", "live-cpu"]) {
    await expect(page.getByTestId(id)).toBeVisible();
  }
  await expect(page.getByTestId("live-cpu")).not.toHaveAttribute("data-points", "0");
  await expect(page.getByTestId("live-cpu").locator("path.line")).toHaveAttribute("d", /^M/);
});

test("after a restart the Events page marks the events that may be missing", async ({ page }) => {
  const port = await freePort();
  const env = { SIGHTLINE_SSE_RETRY_MS: "300", SIGHTLINE_SNAPSHOT_INTERVAL_MS: "300" };
  let server = await startServer(port, env);
  try {
    await page.goto(`${baseURL(port)}${basePath}/events`);
    await hydrated(page);
    const badge = page.getByTestId("live-badge");
    await expect(badge).toContainText("Connected");
    await expect(page.getByTestId("events-gap")).toHaveCount(0);

    // The new server never issued the ids the page has seen: it says `reset`.
    await stopServer(server);
    server = await startServer(port, env);
    await expect(badge).toContainText("Connected", { timeout: 20_000 });
    await expect(page.getByTestId("events-gap")).toHaveCount(1, { timeout: 10_000 });
    await expect(page.getByTestId("events-gap")).toContainText("Events may be missing here");
  } finally {
    await stopServer(server);
  }
});
