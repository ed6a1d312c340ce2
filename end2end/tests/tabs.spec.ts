// Many tabs, one live connection: a leader tab holds the stream and relays it. Run both
// ways the browser can elect the leader: Web Locks (127.0.0.1 is a secure context) and
// BroadcastChannel heartbeats (Web Locks hidden, as over plain HTTP on another host).
import { expect, test, type BrowserContext, type Page, type Request } from "@playwright/test";
import { basePath, baseURL, freePort, startServer, stopServer } from "../support/server";

const hydrated = (page: Page) =>
  expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

const isStream = (url: string) => new URL(url).pathname.endsWith("/api/sse");

/** Counts the context's event-stream requests still open (in pages still open: a closed
 * page's request reports no end), and when each started. */
function watchStreams(context: BrowserContext) {
  const open = new Set<Request>();
  const started: { at: number; url: string; page: Page | null }[] = [];
  context.on("request", (r) => {
    if (!isStream(r.url())) return;
    open.add(r);
    started.push({ at: Date.now(), url: r.url(), page: r.frame().page() });
  });
  const done = (r: Request) => open.delete(r);
  context.on("requestfinished", done);
  context.on("requestfailed", done);
  const live = () => [...open].filter((r) => !r.frame().page()?.isClosed()).length;
  return { open: live, started };
}

/** Hides Web Locks from the page, so that the tabs elect a leader over BroadcastChannel. */
async function withoutWebLocks(context: BrowserContext) {
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined, configurable: true });
  });
}

/** Opens `n` tabs of `path` one after another, each live before the next. */
async function openTabs(context: BrowserContext, n: number, path: string): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByTestId("live-badge")).toContainText("Connected");
    pages.push(page);
  }
  return pages;
}

/** Emulates the page being hidden or shown (Page Visibility). */
async function setVisible(page: Page, visible: boolean) {
  await page.evaluate((visible) => {
    Object.defineProperty(document, "visibilityState", {
      get: () => (visible ? "visible" : "hidden"),
      configurable: true,
    });
    Object.defineProperty(document, "hidden", { get: () => !visible, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, visible);
}

for (const election of ["web-locks", "broadcast-channel"] as const) {
  test.describe(`leader elected by ${election}`, () => {
    test("eight tabs hold exactly one stream, show the same data, and the eighth goes live", async ({ browser, request }) => {
      test.setTimeout(90_000);
      const context = await browser.newContext({ baseURL: baseURL() });
      if (election === "broadcast-channel") await withoutWebLocks(context);
      const streams = watchStreams(context);
      try {
        const pages = await openTabs(context, 8, basePath);
        await expect.poll(() => streams.open(), { timeout: 5_000 }).toBe(1);

        // New requests show up in every tab, relayed from the one stream.
        const totals = async () =>
          Promise.all(
            pages.map(async (p) =>
              Number((await p.getByTestId("total-requests").locator(".stat-value").textContent())!.replace(/,/g, "")),
            ),
          );
        const before = Math.max(...(await totals()));
        for (let i = 0; i < 5; i++) {
          expect((await request.get(`/api/users/${i}`)).status()).toBe(200);
        }
        await expect
          .poll(async () => (await totals()).every((n) => n >= before + 5), { timeout: 10_000 })
          .toBe(true);
        await expect.poll(async () => new Set(await totals()).size, { timeout: 10_000 }).toBe(1);
        // The eighth tab keeps getting fresh snapshots.
        const last = pages[7];
        const age = last.getByTestId("live-badge").locator(".age");
        await expect(age).toHaveText(/updated [0-4]s ago/);
        await last.waitForTimeout(5_000);
        await expect(age).toHaveText(/updated [0-4]s ago/);
        expect(streams.open()).toBe(1);
      } finally {
        await context.close();
      }
    });

    test("closing the leader hands the stream over; events sent meanwhile arrive once in every tab", async ({ browser, request }) => {
      test.setTimeout(60_000);
      const context = await browser.newContext({ baseURL: baseURL() });
      if (election === "broadcast-channel") await withoutWebLocks(context);
      const streams = watchStreams(context);
      try {
        const pages = await openTabs(context, 3, `${basePath}/events`);
        await expect.poll(() => streams.open()).toBe(1);
        const leader = streams.started[streams.started.length - 1].page!;
        const followers = pages.filter((p) => p !== leader);
        expect(followers).toHaveLength(2);

        const tag = `handover-${election}-${Date.now()}`;
        const send = (n: number) =>
          request.post(`${basePath}/api/events`, { data: { event: "handover", data: { tag, n } } });
        expect((await send(0)).status()).toBe(202);
        const before = streams.started.length;
        const closedAt = Date.now();
        const closing = leader.close();
        for (let n = 1; n <= 5; n++) {
          expect((await send(n)).status()).toBe(202);
          await new Promise((r) => setTimeout(r, 100));
        }
        await closing;
        await expect.poll(() => streams.started.length, { timeout: 2_000 }).toBeGreaterThan(before);
        expect(streams.started[before].at - closedAt).toBeLessThan(2_000);
        expect(followers).toContain(streams.started[before].page);
        expect(streams.started[before].url).toContain("lastEventId=");
        for (let n = 6; n <= 7; n++) expect((await send(n)).status()).toBe(202);

        for (const page of followers) {
          const rows = page.getByTestId("events").getByTestId("event").filter({ hasText: tag });
          await expect(rows).toHaveCount(8);
          for (let n = 0; n <= 7; n++) {
            await expect(rows.filter({ hasText: `"n":${n},` })).toHaveCount(1);
          }
        }
        await expect.poll(() => streams.open()).toBe(1);
      } finally {
        await context.close();
      }
    });
  });
}

test("every tab hidden past the threshold closes the stream; shown again, it resumes from the last id", async ({ browser }) => {
  test.setTimeout(60_000);
  const port = await freePort();
  const server = await startServer(port, { SIGHTLINE_LIVE_PAUSE_HIDDEN_MS: "2000" });
  const context = await browser.newContext({ baseURL: baseURL(port) });
  const streams = watchStreams(context);
  try {
    const pages = await openTabs(context, 2, `${basePath}/events`);
    const tag = `hidden-${Date.now()}`;
    const send = (n: number) =>
      context.request.post(`${basePath}/api/events`, { data: { event: "hidden", data: { tag, n } } });
    expect((await send(0)).status()).toBe(202);
    const rows = (p: Page) => p.getByTestId("events").getByTestId("event").filter({ hasText: tag });
    await expect(rows(pages[1])).toHaveCount(1);

    // One tab hidden: still live.
    await setVisible(pages[0], false);
    await pages[0].waitForTimeout(3_500);
    expect(streams.open()).toBe(1);
    // Both hidden: paused, no stream.
    await setVisible(pages[1], false);
    await expect(pages[1].getByTestId("live-badge")).toContainText("Paused", { timeout: 6_000 });
    await expect.poll(() => streams.open()).toBe(0);
    const before = streams.started.length;

    expect((await send(1)).status()).toBe(202);
    expect((await send(2)).status()).toBe(202);
    await setVisible(pages[0], true);
    await expect.poll(() => streams.started.length).toBeGreaterThan(before);
    expect(streams.started[before].url).toContain("lastEventId=");
    await expect(pages[0].getByTestId("live-badge")).toContainText("Connected");
    for (const page of pages) {
      await expect(rows(page)).toHaveCount(3);
    }
  } finally {
    await context.close();
    await stopServer(server);
  }
});
