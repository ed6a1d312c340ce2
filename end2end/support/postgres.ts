// A real, throwaway PostgreSQL for the browser tests: `initdb` in a temporary directory,
// `pg_ctl` on a free loopback port (as the `postgres` user when running as root, which
// PostgreSQL refuses to run as), stopped and removed afterwards.
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Postgres {
  port: number;
  /** A URL for a new, empty database on this server. */
  database: (name: string) => string;
  stop: () => void;
}

/** Debian keeps the server's programs in /usr/lib/postgresql/<version>/bin. */
function binDir(): string {
  const versions = readdirSync("/usr/lib/postgresql")
    .map((v) => join("/usr/lib/postgresql", v, "bin"))
    .filter((bin) => existsSync(join(bin, "initdb")))
    .sort();
  const bin = versions.pop();
  if (!bin) throw new Error("no initdb under /usr/lib/postgresql (scripts/setup.sh installs it)");
  return bin;
}

export function startPostgres(port: number): Postgres {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "sightline-e2e-pg-"));
  const root = process.getuid?.() === 0;
  let uid = -1;
  let gid = -1;
  if (root) {
    uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (program: string, args: string[]) =>
    execFileSync(join(bin, program), args, {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      ...(root ? { uid, gid } : {}),
    });
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off`;
  run("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "start"]);
  return {
    port,
    database: (name) => {
      run("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-c", `CREATE DATABASE ${name}`]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
