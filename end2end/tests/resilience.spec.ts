// The live connection under real conditions: a server that goes away for a while, and a
// proxy that holds the stream back.
import { expect, test, type Page } from "@playwright/test";
import http from "node:http";
import { basePath, baseURL, freePort, startServer, stopServer } from "../support/server";

const hydrated = (page: Page) =>
  expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

const isStream = (url: string) => new URL(url).pathname.endsWith("/api/sse");

test("server stopped for 20 s: the badge counts down, attempts back off, the page recovers by itself", async ({ page }) => {
  test.setTimeout(120_000);
  const port = await freePort();
  const env = { SIGHTLINE_SSE_RETRY_MS: "300", SIGHTLINE_SNAPSHOT_INTERVAL_MS: "500" };
  let server = await startServer(port, env);
  const attempts: number[] = [];
  page.on("request", (r) => {
    if (isStream(r.url())) attempts.push(Date.now());
  });
  try {
    await page.goto(`${baseURL(port)}${basePath}`);
    await hydrated(page);
    const badge = page.getByTestId("live-badge");
    await expect(badge).toContainText("Connected");
    const bar = page.getByTestId("server-bar");
    const run = await bar.getAttribute("data-run");

    await stopServer(server);
    const stoppedAt = Date.now();
    await expect(badge).toContainText(/Reconnecting in \d+s/);
    // The countdown moves.
    const first = await badge.locator(".state").textContent();
    await expect(badge.locator(".state")).not.toHaveText(first!, { timeout: 5_000 });
    await page.waitForTimeout(Math.max(0, 20_000 - (Date.now() - stoppedAt)));
    const during = attempts.filter((t) => t > stoppedAt);
    // The same history: the live chart fills in from it.
    const restartedAt = Date.now();
    server = await startServer(port, env, server.dbPath);

    // At least four attempts in 20 s, but not a tight loop; after the browser's own retry,
    // each wait about 1.5 times the one before (15 % jitter either way; attempts start on
    // the page's 250 ms timer, hence the slack).
    expect(during.length).toBeGreaterThanOrEqual(4);
    expect(during.length).toBeLessThanOrEqual(12);
    const gaps = during.slice(1).map((t, i) => t - during[i]);
    for (let i = 2; i < gaps.length; i++) {
      expect(gaps[i], `gaps ${gaps.join(", ")}`).toBeGreaterThan(gaps[i - 1] - 300);
    }
    expect(gaps[gaps.length - 1], `gaps ${gaps.join(", ")}`).toBeGreaterThan(2 * gaps[1]);

    await expect(badge).toContainText("Connected", { timeout: 40_000 });
    await expect(bar).not.toHaveAttribute("data-run", run!, { timeout: 10_000 });

    // The live chart has every window history has: once the new process's first window
    // finished, the chart asked history for those it missed (the one cut short by the
    // stop among them). Only the outage, where history has nothing either, stays a hole.
    const charts = page.getByTestId("live-charts");
    const chart = async () =>
      ((await charts.getAttribute("data-windows")) ?? "").split(",").filter(Boolean).map(Number);
    const stored = async (): Promise<number[]> => {
      const answer = await page.request.get(`${baseURL(port)}${basePath}/api/recent`);
      return (await answer.json()).points.map((p: { start_ms: number }) => p.start_ms);
    };
    await expect.poll(async () => Math.max(0, ...(await chart())), { timeout: 30_000 }).toBeGreaterThan(restartedAt - 10_000);
    await expect
      .poll(
        async () => {
          const shown = await chart();
          const [oldest, newest] = [Math.min(...shown), Math.max(...shown)];
          return (await stored()).filter((t) => t >= oldest && t <= newest && !shown.includes(t));
        },
        { timeout: 15_000, message: "windows history has that the chart lacks" },
      )
      .toEqual([]);
    const shown = await chart();
    expect(shown.some((t) => t <= stoppedAt), "windows from before the stop").toBe(true);
    // At least one whole window passed with the server down, and the chart has none there.
    expect(Math.ceil(stoppedAt / 10_000) * 10_000 + 10_000).toBeLessThanOrEqual(restartedAt);
    const outage = shown.filter((t) => t >= stoppedAt && t + 10_000 <= restartedAt);
    expect(outage, "no window while the server was down").toEqual([]);
  } finally {
    await stopServer(server);
  }
});

test("a stream that sends headers and then nothing: the badge says Polling and data keeps coming", async ({ page, request }) => {
  test.setTimeout(60_000);
  const port = await freePort();
  const server = await startServer(port, {
    SIGHTLINE_SSE_HEARTBEAT_MS: "500",
    SIGHTLINE_SNAPSHOT_INTERVAL_MS: "300",
  });
  // A proxy that passes everything through, except that it holds event streams back
  // (as a buffering proxy does): headers, then nothing.
  const held: http.ServerResponse[] = [];
  const proxy = http.createServer((req, res) => {
    if (isStream(`http://x${req.url}`)) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      held.push(res);
      return;
    }
    const upstream = http.request(
      { host: "127.0.0.1", port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  const proxyPort = await freePort();
  await new Promise<void>((r) => proxy.listen(proxyPort, "127.0.0.1", r));
  try {
    await page.goto(`${baseURL(proxyPort)}${basePath}`);
    await hydrated(page);
    const badge = page.getByTestId("live-badge");
    await expect(badge).toContainText("Polling", { timeout: 10_000 });
    expect(held.length).toBeGreaterThan(0);

    // Requests made now reach the page through the snapshot endpoint.
    const total = page.getByTestId("total-requests").locator(".stat-value");
    const before = Number((await total.textContent())!.replace(/,/g, ""));
    for (let i = 0; i < 7; i++) {
      expect((await request.get(`${baseURL(port)}/api/users/${i}`)).status()).toBe(200);
    }
    await expect
      .poll(async () => Number((await total.textContent())!.replace(/,/g, "")), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(before + 7);
    await expect(badge.locator(".age")).toHaveText(/updated [0-3]s ago/);
    await expect(badge).toContainText("Polling");
  } finally {
    for (const res of held) res.destroy();
    proxy.close();
    await stopServer(server);
  }
});
