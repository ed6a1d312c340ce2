import { test, expect } from "@playwright/test";
import { basePath } from "../support/server";

const hydrated = (page: import("@playwright/test").Page) =>
  expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

test("an event posted by a script appears on the Events page, newest first", async ({ page, request }) => {
  await page.goto(`${basePath}/events`);
  await hydrated(page);
  await expect(page.getByTestId("live-badge")).toContainText("Connected");
  const tag = `e2e-${Date.now()}`;
  for (const n of [1, 2]) {
    const response = await request.post(`${basePath}/api/events`, {
      data: { event: "deploy", channel: "ops", data: { tag, n } },
    });
    expect(response.status()).toBe(202);
  }
  const rows = page.getByTestId("events").getByTestId("event").filter({ hasText: tag });
  await expect(rows).toHaveCount(2);
  await expect(rows.first().locator("code.path")).toHaveText(`{"n":2,"tag":"${tag}"}`);
  await expect(rows.first().locator(".channel")).toHaveText("ops");
  await rows.first().locator("summary").click();
  await expect(rows.first().locator(".event-data")).toContainText(`"tag": "${tag}"`);
});

test("filters, pause and resume", async ({ page, request }) => {
  await page.goto(`${basePath}/events`);
  await hydrated(page);
  await expect(page.getByTestId("live-badge")).toContainText("Connected");
  const tag = `f-${Date.now()}`;
  const send = (event: string, channel: string) =>
    request.post(`${basePath}/api/events`, { data: { event, channel, data: { tag } } });
  await send("build", "ci");
  await send("deploy", "ops");
  const rows = page.getByTestId("events").getByTestId("event").filter({ hasText: tag });
  await expect(rows).toHaveCount(2);

  await page.getByTestId("channel-filter").selectOption("ci");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-event", "build");
  await page.getByTestId("channel-filter").selectOption("");
  await page.getByLabel("Search events").fill("no-such-text-anywhere");
  await expect(rows).toHaveCount(0);
  await page.getByLabel("Search events").fill(tag);
  await expect(rows).toHaveCount(2);

  await page.getByTestId("pause").click();
  await send("rollback", "ops");
  await expect(page.getByTestId("events-count")).toHaveText("Paused · 1 new");
  await expect(rows).toHaveCount(2);
  await page.getByTestId("pause").click();
  await expect(rows).toHaveCount(3);
  await expect(rows.first()).toHaveAttribute("data-event", "rollback");
});
