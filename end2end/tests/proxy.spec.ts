// `sightline proxy` in front of a service that is not written in Rust (a Node server here):
// its page and its WebSocket work through the proxy in a real browser, and the dashboard,
// behind its sign-in on the same listener, shows the service's requests under their
// templates.
import { test, expect } from "@playwright/test";
import { type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import { binary, freePort, freshDb, spawnReady, stopProcess } from "../support/server";

const password = "a long enough password";
let upstream: HttpServer;
let proxy: ChildProcess;
let origin = "";

// The service's page: opens a WebSocket to its own origin and lists what comes back.
const PAGE = `<!doctype html><title>shop</title><p id="state">connecting</p><ul id="log"></ul>
<script>
  const ws = new WebSocket("ws://" + location.host + "/ws");
  ws.onopen = () => { document.getElementById("state").textContent = "open"; ws.send("hello"); };
  ws.onmessage = (e) => {
    const li = document.createElement("li");
    li.textContent = e.data;
    document.getElementById("log").append(li);
  };
  window.say = (text) => ws.send(text);
</script>`;

/** An HTTP server with a WebSocket echo (RFC 6455 by hand: short text frames only). */
function startUpstream(port: number): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const item = /^\/api\/items\/(\d+)$/.exec(req.url ?? "");
    if (req.url === "/") {
      res.setHeader("content-type", "text/html; charset=utf-8");
      res.end(PAGE);
    } else if (item) {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ id: Number(item[1]), forwardedFor: req.headers["x-forwarded-for"] }));
    } else {
      res.statusCode = 404;
      res.end("not found");
    }
  });
  server.on("upgrade", (req, socket) => {
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 6) {
        const opcode = pending[0] & 0x0f;
        const length = pending[1] & 0x7f;
        if (length >= 126) return void socket.destroy();
        if (pending.length < 6 + length) return;
        const mask = pending.subarray(2, 6);
        const text = Buffer.from(pending.subarray(6, 6 + length).map((b, i) => b ^ mask[i % 4]));
        pending = pending.subarray(6 + length);
        if (opcode === 8) return void socket.end(Buffer.from([0x88, 0]));
        const reply = Buffer.from(`echo: ${text}`);
        socket.write(Buffer.concat([Buffer.from([0x81, reply.length]), reply]));
      }
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

test.beforeAll(async () => {
  const upstreamPort = await freePort();
  upstream = await startUpstream(upstreamPort);
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  const args = ["proxy", "--upstream", `http://127.0.0.1:${upstreamPort}`, "--listen", `127.0.0.1:${port}`];
  ({ child: proxy } = await spawnReady(
    binary,
    [...args, "--db-path", freshDb()],
    { env: { ...process.env, RUST_LOG: "warn", SIGHTLINE_PASSWORD: password } },
    async () => (await fetch(`${origin}/sightline/login`)).ok,
  ));
});

test.afterAll(async () => {
  if (proxy) await stopProcess(proxy);
  await new Promise((r) => upstream?.close(r));
});

test("a service's page and WebSocket work through the proxy, and the dashboard shows its requests", async ({
  page,
  request,
}) => {
  await page.goto(`${origin}/`);
  await expect(page.locator("#state")).toHaveText("open");
  await expect(page.locator("#log li")).toHaveText(["echo: hello"]);
  await page.evaluate(() => (window as unknown as { say: (t: string) => void }).say("again"));
  await expect(page.locator("#log li")).toHaveText(["echo: hello", "echo: again"]);

  for (let id = 1; id <= 4; id++) {
    const response = await request.get(`${origin}/api/items/${id}`);
    expect(response.status()).toBe(200);
    expect(await response.json()).toEqual({ id, forwardedFor: "127.0.0.1" });
  }

  // The dashboard, on the same listener, behind its sign-in.
  await page.goto(`${origin}/sightline`);
  await expect(page).toHaveURL(/\/sightline\/login\?next=/);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${origin}/sightline`);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const top = page.getByTestId("top-requests");
  await expect(top).toContainText("/api/items/{id}", { timeout: 15_000 });
  await expect(top).toContainText("/ws");
});
