// Two instances sharing one real PostgreSQL (no Redis): the Endpoints page of one shows
// requests sent only to the other, and the instance picker narrows the page to either.
import { expect, test, type Page } from "@playwright/test";
import { startPostgres } from "../support/postgres";
import { basePath, baseURL, freePort, startServer, stopServer, type Server } from "../support/server";

async function hydrated(page: Page) {
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
}

test("the history of one instance shows the other's requests, and the picker narrows it", async ({ page }) => {
  test.setTimeout(120_000);
  const pg = startPostgres(await freePort());
  const servers: Server[] = [];
  try {
    const url = pg.database("shared");
    const env = (id: string) => ({ SIGHTLINE_DATABASE_URL: url, SIGHTLINE_INSTANCE_ID: id });
    const alpha = await startServer(await freePort(), env("alpha"));
    servers.push(alpha);
    const beta = await startServer(await freePort(), env("beta"));
    servers.push(beta);
    // Requests to beta only.
    for (let i = 0; i < 13; i++) {
      const res = await fetch(`${baseURL(beta.port)}/api/users`);
      expect(res.ok).toBeTruthy();
    }

    // Beta writes its 10 s window; alpha's Endpoints page reads it from the database.
    const endpoints = `${baseURL(alpha.port)}${basePath}/endpoints?range=15m`;
    const row = () => page.getByTestId("endpoints-table").locator("tr", { hasText: "/api/users" }).first();
    await expect(async () => {
      await page.goto(endpoints);
      await expect(row().locator("td").nth(1)).toHaveText("13", { timeout: 1_000 });
      await expect(page.getByTestId("instance-picker").locator("option")).toHaveCount(3, { timeout: 1_000 });
    }).toPass({ timeout: 60_000 });
    await hydrated(page);
    const picker = page.getByTestId("instance-picker");
    await expect(picker).toBeVisible();
    await expect(picker.locator("option").first()).toHaveText("All instances (2)");

    // Narrowed to alpha: none of beta's requests; the range stays in the URL.
    await picker.selectOption("alpha");
    await expect(page).toHaveURL(/\/endpoints\?range=15m&instance=alpha$/);
    await hydrated(page);
    await expect(page.getByTestId("endpoints-table")).toHaveAttribute("data-total", "0");
    await expect(page.getByTestId("instance-picker")).toHaveValue("alpha");
    // Every section keeps the choice.
    await expect(page.locator("nav.sidebar a", { hasText: "Errors" })).toHaveAttribute(
      "href",
      `${basePath}/errors?instance=alpha`,
    );

    await page.getByTestId("instance-picker").selectOption("beta");
    await expect(page).toHaveURL(/instance=beta$/);
    await hydrated(page);
    await expect(row().locator("td").nth(1)).toHaveText("13");

    // All instances again.
    await page.getByTestId("instance-picker").selectOption("");
    await expect(page).toHaveURL(/\/endpoints\?range=15m$/);
    await expect(row().locator("td").nth(1)).toHaveText("13");

    // Settings lists both instances with their windows.
    await page.goto(`${baseURL(alpha.port)}${basePath}/settings`);
    const stored = page.getByTestId("stored-instances");
    await expect(stored.locator("tr[data-instance=alpha]")).toBeVisible();
    await expect(stored.locator("tr[data-instance=beta] td").nth(3)).toHaveText("13");
    await expect(page.getByTestId("database")).toContainText("PostgreSQL");
  } finally {
    for (const s of servers) await stopServer(s);
    pg.stop();
  }
});
