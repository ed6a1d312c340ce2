// Served over TLS with a certificate made here: the browser speaks HTTP/2, so every tab's
// event stream shares one connection, and the dashboard goes live.
import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { basePath, freePort, startServer, stopServer } from "../support/server";

test.use({ ignoreHTTPSErrors: true });

test("over --tls-cert/--tls-key the dashboard loads over HTTPS, speaks h2 and goes live", async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), "sightline-e2e-tls-"));
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1",
  ], { stdio: "ignore" });
  const port = await freePort();
  const server = await startServer(port, { SIGHTLINE_TLS_CERT: cert, SIGHTLINE_TLS_KEY: key });
  try {
    const response = await page.goto(`https://127.0.0.1:${port}${basePath}`);
    expect(response?.ok()).toBeTruthy();
    const protocol = await page.evaluate(
      () => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).nextHopProtocol,
    );
    expect(protocol).toBe("h2");
    await expect(page.getByTestId("live-badge")).toHaveClass(/connected/);
  } finally {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
