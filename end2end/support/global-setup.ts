// One server for the whole run, built by `cargo leptos build --release` beforehand.
import { mainPort, startServer, stopServer } from "./server";

export default async function globalSetup() {
  const server = await startServer(mainPort);
  return async () => stopServer(server);
}
