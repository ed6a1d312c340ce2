// Starts and stops the freshly built Sightline server for the tests.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "../..");
export const binary = process.env.SIGHTLINE_BIN ?? resolve(root, "target/release/sightline");
export const basePath = "/sightline";

/** Port of the shared server started by global setup. */
export const mainPort = Number(process.env.SIGHTLINE_E2E_PORT ?? 3417);

export function baseURL(port = mainPort): string {
  return `http://127.0.0.1:${port}`;
}

export interface Server {
  port: number;
  process: ChildProcess;
  output: () => string;
  /** The history database this server writes. */
  dbPath: string;
}

/** A history database path in a fresh temporary directory. */
export function freshDb(): string {
  return join(mkdtempSync(join(tmpdir(), "sightline-e2e-")), "history.db");
}

/** Spawns the server on `port` and resolves once the dashboard answers. */
export async function startServer(
  port: number,
  env: Record<string, string> = {},
  dbPath: string = freshDb(),
): Promise<Server> {
  if (!existsSync(binary)) {
    throw new Error(`${binary} does not exist: run \`cargo leptos build --release\` first`);
  }
  const url = `${baseURL(port)}${basePath}`;
  // Over TLS (a certificate Node does not trust), the line naming the address says it is up.
  const tls = "SIGHTLINE_TLS_CERT" in env;
  const { child, output } = await spawnReady(
    binary,
    ["--addr", `127.0.0.1:${port}`, "--db-path", dbPath, "--demo"],
    // Access control is off unless a suite passes credentials (auth.spec.ts does).
    // The site embedded in the binary (what ships), unless LEPTOS_SITE_ROOT says otherwise.
    { env: { ...process.env, RUST_LOG: "warn", SIGHTLINE_AUTH: "off", ...env } },
    async (log) => (tls ? log.includes("dashboard: https://") : (await fetch(url)).ok),
  );
  return { port, process: child, output, dbPath };
}

/**
 * Spawns `command` and resolves once `ready` (given everything it printed so far) says so;
 * throws with its output if it exits first or is not ready within 30 s.
 */
export async function spawnReady(
  command: string,
  args: string[],
  options: SpawnOptions,
  ready: (log: string) => Promise<boolean>,
): Promise<{ child: ChildProcess; output: () => string }> {
  let log = "";
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (chunk) => (log += chunk));
  child.stderr!.on("data", (chunk) => (log += chunk));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`${command} exited with ${child.exitCode}:\n${log}`);
    }
    try {
      if (await ready(log)) return { child, output: () => log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${command} ${args.join(" ")} was not ready within 30 s:\n${log}`);
}

/** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit. */
export async function stopServer(server: Server): Promise<void> {
  await stopProcess(server.process);
}

/** Stops a child process (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}
