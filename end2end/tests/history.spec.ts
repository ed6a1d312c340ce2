import { test, expect, type Page } from "@playwright/test";
import { basePath, baseURL, freePort, startServer, stopServer, type Server } from "../support/server";

// One server's history, read back by the next one on the same database.
let server: Server;
let port = 0;
const url = (path: string) => `${baseURL(port)}${basePath}${path}`;

const hydrated = (page: Page) => expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

test.beforeAll(async () => {
  port = await freePort();
  const first = await startServer(port);
  for (let i = 0; i < 30; i++) {
    expect((await fetch(`${baseURL(port)}/api/users/${i % 5}`)).status).toBe(200);
  }
  for (let i = 0; i < 4; i++) {
    expect((await fetch(`${baseURL(port)}/api/users/${1000 + i}`)).status).toBe(404);
  }
  // Stopping writes the window in progress; the next server starts on the same file.
  await stopServer(first);
  server = await startServer(port, {}, first.dbPath);
});

test.afterAll(async () => {
  if (server) await stopServer(server);
});

test("history survives a restart: the endpoints table counts the requests sent before it", async ({ page }) => {
  await page.goto(url("/endpoints?range=15m"));
  await hydrated(page);
  const row = page.getByTestId("endpoints-table").locator("tr", { hasText: "/api/users/{id}" });
  await expect(row.locator("td").nth(1)).toHaveText("34");
  await expect(row.locator("td").nth(2)).toHaveText("4 (11.8%)");
  await expect(page.getByTestId("top-chart").locator(".bar")).toHaveCount(1);
});

test("each page shows data for the range", async ({ page }) => {
  await page.goto(url("/system?range=15m"));
  await expect(page.getByTestId("chart-cpu")).toHaveAttribute("data-points", /^[1-9]\d*$/);
  await expect(page.getByTestId("chart-memory").locator("path.line").first()).toHaveAttribute("d", /^M/);

  await page.goto(url("/app-metrics?range=15m"));
  await hydrated(page);
  await expect(page.getByTestId("chart-rss")).toHaveAttribute("data-points", /^[1-9]\d*$/);
  await expect(page.getByTestId("chart-workers")).toHaveAttribute("data-points", /^[1-9]\d*$/);
  await expect(page.getByTestId("uptime").locator(".stat-value")).toHaveText(/^\d+s$|^\d+m \d+s$/);

  await page.goto(url("/errors?range=15m"));
  await hydrated(page);
  await expect(page.getByTestId("range-4xx").locator(".stat-value")).toHaveText("4");
  await expect(page.getByTestId("status-chart").locator(".bar")).toHaveCount(2);
  const records = page.getByTestId("error-log").getByTestId("record");
  await expect(records).toHaveCount(4);
  await expect(records.first().locator(".record-details")).toBeHidden();
  await records.first().locator("summary").click();
  await expect(records.first().locator(".record-details")).toContainText("/api/users/{id}");
  await expect(records.first().locator(".record-details")).toContainText("/api/users/1003");

  await page.goto(url("/settings"));
  await expect(page.getByTestId("version-info")).toContainText("Sightline 0.");
  await expect(page.getByRole("heading", { name: "Store health" })).toBeVisible();
  await expect(page.getByTestId("store-writes")).toHaveText("ok");
  await expect(page.getByTestId("export").locator("a", { hasText: "CSV" }).first()).toHaveAttribute(
    "href",
    /\/api\/export\?dataset=endpoints&format=csv/,
  );
});

test("the chart shows time and value under the pointer", async ({ page }) => {
  await page.goto(url("/system?range=5m"));
  await hydrated(page);
  const chart = page.getByTestId("chart-cpu");
  const box = (await chart.locator(".overlay").boundingBox())!;
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  await expect(chart.getByTestId("chart-tooltip")).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
  await expect(chart.getByTestId("chart-tooltip")).toContainText(/CPU, all cores: [\d.]+%/);
  await page.mouse.move(0, 0);
  await expect(chart.getByTestId("chart-tooltip")).toHaveCount(0);
});

test("changing the range changes the URL and the data, and a reload keeps it", async ({ page }) => {
  await page.goto(url("/system?range=1h"));
  await hydrated(page);
  const chart = page.getByTestId("chart-cpu");
  const caption = page.getByTestId("range-caption");
  await expect(caption).toContainText("Last 1h");
  const hourFrom = Number(await chart.getAttribute("data-from"));
  const hourTo = Number(await chart.getAttribute("data-to"));
  expect(hourTo - hourFrom).toBe(3_600_000);

  await page.locator('.presets a[data-range="5m"]').click();
  await expect(page).toHaveURL(/[?&]range=5m\b/);
  await expect(caption).toContainText("Last 5m");
  await expect(page.locator('.presets a[data-range="5m"]')).toHaveAttribute("aria-current", "true");
  const from = Number(await chart.getAttribute("data-from"));
  expect(Number(await chart.getAttribute("data-to")) - from).toBe(300_000);

  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("range-caption")).toContainText("Last 5m");
  await expect(page.locator('.presets a[data-range="5m"]')).toHaveAttribute("aria-current", "true");

  // A custom range: both ends land in the URL, and the data follows.
  const now = Date.now();
  const local = (ms: number) => {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
    return d.toISOString().slice(0, 16);
  };
  await page.locator('.custom-range input[name="from"]').fill(local(now - 20 * 60_000));
  await page.locator('.custom-range input[name="to"]').fill(local(now + 60_000));
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/[?&]from=\d+&to=\d+/);
  await expect(page.getByTestId("range-caption")).toContainText("Custom range");
  const span = Number(await chart.getAttribute("data-to")) - Number(await chart.getAttribute("data-from"));
  expect(span).toBeGreaterThan(20 * 60_000);
  expect(span).toBeLessThan(23 * 60_000);
});

test("the endpoints table sorts, searches and keeps both in the URL", async ({ page }) => {
  await page.goto(url("/endpoints?range=15m"));
  await hydrated(page);
  await page.getByTestId("endpoints-table").locator('a[data-sort="p99"]').click();
  await expect(page).toHaveURL(/sort=p99&order=desc/);
  await expect(page.getByTestId("endpoints-table").locator('th[aria-sort="descending"]')).toContainText("p99");
  await page.getByLabel("Filter routes").fill("nothing-like-this");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/search=nothing-like-this/);
  await expect(page).toHaveURL(/range=15m/);
  await expect(page.getByTestId("endpoints-table")).toHaveAttribute("data-total", "0");
  await page.locator('.presets a[data-metric="errors"]').click();
  await expect(page).toHaveURL(/metric=errors/);
  await expect(page.getByTestId("top-chart").locator("figcaption")).toHaveText("By errors (4xx and 5xx)");
});

test("settings are validated, saved and kept", async ({ page }) => {
  await page.goto(url("/settings"));
  await hydrated(page);
  await page.getByTestId("retention-days").fill("400");
  await page.getByTestId("retention-days").evaluate((el: HTMLInputElement) => el.removeAttribute("max"));
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("settings-error")).toContainText("retention_days");
  await page.getByTestId("retention-days").fill("12");
  await page.getByTestId("slow-threshold").fill("750");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("settings-saved")).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("retention-days")).toHaveValue("12");
  await expect(page.getByTestId("slow-threshold")).toHaveValue("750");
});
