// What the Dashboard costs to load cold: every byte the browser fetches before the page is
// live (HTML, JS, WASM, CSS), as it travels with brotli. Pages are server-rendered and only
// their islands are WASM; the islands of other pages (Events feed, charts, custom range,
// settings form) are chunks fetched with those pages, not here.
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

  const urls: string[] = await page.evaluate(() =>
    [location.href, ...performance.getEntriesByType("resource").map((e) => e.name)],
  );
  // The live stream is not part of the load: it stays open.
  const loaded = [...new Set(urls)].filter((u) => u.startsWith(baseURL()) && !u.includes("/api/sse"));
  const rows = [];
  for (const url of loaded) {
    rows.push({ url: url.slice(baseURL().length), ...(await wireSize(url)) });
  }
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(rows.map((r) => `${String(r.bytes).padStart(8)} ${r.encoding.padEnd(8)} ${r.url}`).join("\n"));
  console.log(`${String(total).padStart(8)} total`);
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
