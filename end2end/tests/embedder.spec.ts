// An app outside the workspace (end2end/embedder) that depends on `sightline` alone: no
// LEPTOS_* variables, no site directory, no credentials, no tracing subscriber. Its
// dashboard at /ops/metrics must load styled, hydrate, let the owner in with the password
// the app printed to standard error, and show the app's own requests live.
import { test, expect } from "@playwright/test";
import { type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, spawnReady, stopProcess } from "../support/server";

const binary =
  process.env.EMBEDDER_BIN ?? resolve(__dirname, "../../target/release/sightline-embedder");
let origin = "";
let dashboard = "";

let app: ChildProcess;
let password = "";

test.beforeAll(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  dashboard = `${origin}/ops/metrics`;
  if (!existsSync(binary)) {
    throw new Error(`${binary} does not exist: scripts/test.sh builds it`);
  }
  // Nothing of the workspace's: a clean environment and an empty working directory.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("LEPTOS_") && !k.startsWith("SIGHTLINE_")),
  );
  ({ child: app } = await spawnReady(
    binary,
    [],
    { cwd: mkdtempSync(join(tmpdir(), "sightline-embedder-")), env: { ...env, EMBEDDER_ADDR: `127.0.0.1:${port}` } },
    async (output) => {
      password = /with password (\S+)/.exec(output)?.[1] ?? "";
      // The dashboard's own paths are not recorded: the count below starts clean.
      return password !== "" && (await fetch(`${dashboard}/login`)).ok;
    },
  ));
});

test.afterAll(async () => {
  if (app) await stopProcess(app);
});

test("an app that depends on sightline alone serves a working dashboard", async ({ page, request }) => {
  const assets: { url: string; status: number }[] = [];
  page.on("response", (r) => {
    if (r.url().includes("/ops/metrics/pkg/")) assets.push({ url: r.url(), status: r.status() });
  });

  await page.goto(dashboard);
  await expect(page).toHaveURL(/\/ops\/metrics\/login\?next=/);
  // The owner is told where the generated password is.
  await expect(page.getByTestId("login-hint")).toContainText("standard error");

  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(dashboard);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("live-badge")).toContainText("Connected");

  // Styled: the embedded stylesheet applies (the header is a flex row, not a block).
  const display = await page.locator("header.topbar").evaluate((e) => getComputedStyle(e).display);
  expect(display).toBe("flex");
  for (const kind of [".css", ".js", ".wasm"]) {
    const loaded = assets.filter((a) => a.url.endsWith(kind));
    expect(loaded.length, `${kind} requested`).toBeGreaterThan(0);
    for (const a of loaded) expect([200, 304], a.url).toContain(a.status);
  }

  // The app's own routes, counted live.
  const total = page.getByTestId("total-requests").locator(".stat-value");
  const before = Number((await total.innerText()).replace(/,/g, ""));
  for (let i = 1; i <= 5; i++) {
    expect((await request.get(`${origin}/orders/${i}`)).status()).toBe(200);
  }
  await expect(total).toHaveText(String(before + 5), { timeout: 15_000 });
  await expect(page.getByTestId("top-requests")).toContainText("/orders/{id}");
});
