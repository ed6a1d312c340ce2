// Two instances sharing one real Redis: the dashboard of one shows the traffic of the
// other, and the instance picker narrows the page to one of them.
import { expect, test } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { basePath, baseURL, freePort, startServer, stopServer, type Server } from "../support/server";

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.end(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error("redis-server did not start");
}

test("the dashboard of one instance shows the whole cluster, and narrows to one", async ({ page }) => {
  const redisPort = await freePort();
  const redis = await startRedis(redisPort);
  const servers: Server[] = [];
  try {
    const env = (id: string) => ({
      SIGHTLINE_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      SIGHTLINE_INSTANCE_ID: id,
      SIGHTLINE_SNAPSHOT_INTERVAL_MS: "300",
    });
    const a = await startServer(await freePort(), env("alpha"));
    servers.push(a);
    const b = await startServer(await freePort(), env("beta"));
    servers.push(b);
    // Traffic to B only.
    for (let i = 0; i < 17; i++) {
      const res = await fetch(`${baseURL(b.port)}/api/users`);
      expect(res.ok).toBeTruthy();
    }

    await page.goto(`${baseURL(a.port)}${basePath}`);
    const picker = page.getByTestId("instance-picker");
    await expect(picker.locator("option").first()).toHaveText("All instances (2)");
    const total = () => page.getByTestId("total-requests").locator(".stat-value");
    await expect(total()).toHaveText("17");
    const table = page.getByTestId("instances");
    await expect(table.locator("tr[data-instance=beta]")).toHaveAttribute("data-state", "live");
    await expect(table.locator("tr[data-instance=alpha]")).toContainText("this one");

    // Narrowed to A: none of B's traffic; kept in the URL.
    await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
    await picker.selectOption("alpha");
    await expect(page).toHaveURL(/\?instance=alpha$/);
    await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
    await expect(total()).toHaveText("0");
    await expect(page.getByTestId("instance-picker")).toHaveValue("alpha");
    await page.getByTestId("instance-picker").selectOption("beta");
    await expect(page).toHaveURL(/\?instance=beta$/);
    await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
    await expect(total()).toHaveText("17");
    // More traffic to B arrives live on A's page.
    for (let i = 0; i < 3; i++) await fetch(`${baseURL(b.port)}/api/users`);
    await expect(total()).toHaveText("20");
  } finally {
    for (const s of servers) await stopServer(s);
    redis.kill("SIGKILL");
  }
});
