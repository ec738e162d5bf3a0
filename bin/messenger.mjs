#!/usr/bin/env node
// The production image's entry point: one image, any service or operator command.
//
//   node --conditions=compiled bin/messenger.mjs <command> [args...]
//
// The command's compiled module is imported into this very process (no child process), so
// a signal sent to this process (by tini, PID 1 of the container) reaches the service and
// its graceful drain runs. It needs the "compiled" export condition (the image sets
// NODE_OPTIONS=--conditions=compiled): without it the workspace packages resolve to their
// TypeScript sources, which plain node cannot run.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Command -> compiled module, relative to the root of the production tree. */
const commands = {
  gateway: "services/gateway/dist/src/main.js",
  router: "services/router/dist/src/main.js",
  store: "services/store/dist/src/main.js",
  presence: "services/presence/dist/src/main.js",
  media: "services/media/dist/src/main.js",
  groups: "services/groups/dist/src/main.js",
  accounts: "services/accounts/dist/src/main.js",
  push: "services/push/dist/src/main.js",
  standalone: "services/standalone/dist/src/main.js",
  "mongo-init": "dist/scripts/mongo-init.js",
  archive: "dist/scripts/archive.js",
  "token-keys": "dist/scripts/token-keys.js",
  smoke: "dist/scripts/smoke.js",
};

const usage = `usage: messenger <command> [args...]

services (configured by environment variables, see each service's README):
  gateway  router  store  presence  media  groups  accounts  push
  standalone      every service in one process
operator commands:
  mongo-init      prepare the MongoDB collections, indexes and sharding (MONGODB_URI)
  archive         move old history to the blob store now [--older-than 30d] [--segment N]
  token-keys      add FILE | promote FILE [--keep N] | rotate FILE [--keep N] | show FILE: the access-token signing key set
  smoke           register two users and pass a message through the gateway (MESSENGER_GRPC_URL)`;

const [command, ...args] = process.argv.slice(2);
if (command === "--help" || command === "-h" || command === "help") {
  console.log(usage);
  process.exit(0);
}
const target = command !== undefined && Object.hasOwn(commands, command) ? commands[command] : undefined;
if (target === undefined) {
  console.error(`${command === undefined ? "messenger: no command given" : `messenger: unknown command ${JSON.stringify(command)}`}\n${usage}`);
  process.exit(2);
}
if (!import.meta.resolve("@messenger/proto").endsWith(".js")) {
  console.error("messenger: run with the compiled export condition: node --conditions=compiled (NODE_OPTIONS=--conditions=compiled), after npm run build");
  process.exit(2);
}
const path = `${root}${target}`;
if (!existsSync(path)) {
  console.error(`messenger: ${target} is missing: this tree was not built (npm run build)`);
  process.exit(2);
}
// The command reads its own arguments from process.argv.slice(2), as when run directly.
process.argv.splice(1, 2, path);
await import(pathToFileURL(path).href);
