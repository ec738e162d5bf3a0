// Runs a command on the project's Node.js runtime (the major version in .node-version),
// after installing what it needs. Every npm script that runs our code goes through here, so
// `npm start` and `npm test` work on a fresh machine whatever Node.js it has:
//
//   node scripts/run.mjs [--deps run|tests|cluster] -- <command> [args...]
//
// When the Node.js running this script is not that major, the runtime comes from the npm
// registry (the official binaries, package node-<platform>-<arch>) into .runtime/, once;
// MESSENGER_NODE=system keeps the Node.js on PATH instead. The command runs with that
// runtime first on PATH, so `node`, `tsx` and `vitest` all run on it, and native modules are
// built against its headers.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const options = sep === -1 ? argv : argv.slice(0, sep);
const command = sep === -1 ? [] : argv.slice(sep + 1);
const depsAt = options.indexOf("--deps");
const deps = depsAt === -1 ? undefined : options[depsAt + 1];
if (command.length === 0 || (deps !== undefined && !["run", "tests", "cluster"].includes(deps))) {
  console.error("usage: node scripts/run.mjs [--deps run|tests|cluster] -- <command> [args...]");
  process.exit(2);
}

const wanted = readFileSync(join(root, ".node-version"), "utf8").trim();
const major = (version) => version.replace(/^v/, "").split(".")[0];

/** The directory holding the node binary to run on, and the headers' root when it is ours. */
function runtime() {
  const current = { bin: dirname(process.execPath), headers: undefined };
  if (major(process.version) === wanted || process.env.MESSENGER_NODE === "system") return current;
  const pkg = `node-${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
  const home = join(root, ".runtime", `node-${wanted}`);
  const dir = join(home, "node_modules", pkg);
  const bin = process.platform === "win32" ? dir : join(dir, "bin");
  const node = join(bin, process.platform === "win32" ? "node.exe" : "node");
  if (!existsSync(node)) {
    console.error(`messenger: this project runs on Node.js ${wanted} (this is ${process.version}); fetching ${pkg}@${wanted} from the npm registry into .runtime/ (once, about 70 MB) ...`);
    try {
      execFileSync("npm", ["install", "--prefix", home, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `${pkg}@${wanted}`], { stdio: "inherit", cwd: root });
    } catch {
      console.error(`messenger: could not install ${pkg}@${wanted}. Install Node.js ${wanted} yourself, or run on this one with MESSENGER_NODE=system.`);
      process.exit(1);
    }
  }
  return { bin, headers: dir };
}

const rt = runtime();
const env = {
  ...process.env,
  PATH: [rt.bin, join(root, "node_modules", ".bin"), process.env.PATH ?? ""].join(process.platform === "win32" ? ";" : ":"),
  // npm's node-gyp builds native modules (better-sqlite3) against these headers, not against
  // the Node.js that npm itself was started with.
  ...(rt.headers ? { npm_config_nodedir: rt.headers } : {}),
};
const node = join(rt.bin, process.platform === "win32" ? "node.exe" : "node");

if (deps !== undefined) {
  execFileSync(node, [join(root, "scripts", "ensure-deps.mjs"), ...(deps === "run" ? [] : [`--${deps}`])], { stdio: "inherit", cwd: root, env });
}

const child = spawn(command[0], command.slice(1), { stdio: "inherit", env, shell: process.platform === "win32" });
// Ctrl-C reaches the whole foreground process group, the child included: this process waits
// for the child's own clean stop. A SIGTERM sent to this process alone is passed on.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("error", (err) => {
  console.error(`messenger: cannot run ${command[0]}: ${err.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)));
