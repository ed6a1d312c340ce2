// What the Dashboard costs to load cold: every byte the browser fetches before the page is
// live (HTML, JS, WASM, CSS), as it travels with brotli. Pages are server-rendered and only
// their islands are WASM; the islands of other pages (Events feed, charts, custom range,
// settings form) are chunks fetched with those pages, not here. The page marks the moment
// it went live (`performance` mark `sightline-live`); what it fetches after (the code that
// redraws the live charts, fetched with the first live snapshot) is listed, not counted.
//
// The budget is the goal (200 KB); docs/BENCHMARKS.md ("Cold load of the Dashboard") has
// the breakdown.
import { test, expect } from "@playwright/test";
import { request as httpRequest } from "node:http";
import { writeFileSync, mkdirSync } from "node:fs";
import { basePath, baseURL } from "../support/server";

const BUDGET = 200_000;

/** Bytes on the wire for `url` requested with `accept-encoding: br`, and the encoding used. */
function wireSize(url: string): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { "accept-encoding": "br" } }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ bytes, encoding: String(res.headers["content-encoding"] ?? "identity") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

test("the Dashboard loads cold within its budget, brotli", async ({ page }) => {
  await page.goto(basePath);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("live-badge")).toContainText("Connected");

  // The charts' code arrives after the page went live.
  await expect(page.getByTestId("live-charts")).toHaveAttribute("data-redrawn", "true", { timeout: 15_000 });
  const { before, after } = await page.evaluate(() => {
    const live = performance.getEntriesByName("sightline-live")[0].startTime;
    const resources = performance.getEntriesByType("resource");
    return {
      before: [location.href, ...resources.filter((e) => e.startTime < live).map((e) => e.name)],
      after: resources.filter((e) => e.startTime >= live).map((e) => e.name),
    };
  });
  // The live stream is not part of the load: it stays open.
  const ours = (urls: string[]) =>
    [...new Set(urls)].filter((u) => u.startsWith(baseURL()) && !u.includes("/api/sse"));
  const loaded = ours(before);
  expect(ours(after).some((u) => u.includes("split_follow")), "the charts' code comes after").toBe(true);
  expect(loaded.some((u) => u.includes("split_follow")), "…and not before").toBe(false);
  const rows = [];
  for (const url of loaded) {
    rows.push({ url: url.slice(baseURL().length), ...(await wireSize(url)) });
  }
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(rows.map((r) => `${String(r.bytes).padStart(8)} ${r.encoding.padEnd(8)} ${r.url}`).join("\n"));
  console.log(`${String(total).padStart(8)} total`);
  for (const url of ours(after)) {
    const { bytes, encoding } = await wireSize(url);
    console.log(`${String(bytes).padStart(8)} ${encoding.padEnd(8)} ${url.slice(baseURL().length)} (after going live)`);
  }
  mkdirSync("test-results", { recursive: true });
  writeFileSync("test-results/cold-load.json", JSON.stringify({ total, rows }, null, 2));

  for (const kind of [".wasm", ".js", ".css"]) {
    const row = rows.find((r) => r.url.endsWith(kind));
    expect(row, `the page loads a ${kind}`).toBeDefined();
    expect(row!.encoding, `${kind} travels compressed`).toBe("br");
  }
  expect(rows.find((r) => r.url.startsWith(basePath) && !r.url.includes("/pkg/"))!.encoding).toBe("br");
  expect(total).toBeLessThanOrEqual(BUDGET);
});
