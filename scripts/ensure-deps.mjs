// Makes a fresh clone runnable: installs npm dependencies when node_modules is missing or
// older than package-lock.json, and (for the tests and the local cluster) the Debian packages
// they drive: nats-server, python3-grpcio for the interop test, Go and Helm's template
// libraries for the chart tests. scripts/run.mjs runs it
// on the project's Node.js runtime before `npm start`, `npm test`, `npm run cluster` and
// `npm run bench`.
import { execSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";

const forTests = process.argv.includes("--tests");
const forCluster = forTests || process.argv.includes("--cluster");
const marker = "node_modules/.package-lock.json";
// The Node.js ABI the native modules were built for: another runtime needs them rebuilt.
const abiMarker = "node_modules/.messenger-node-abi";
const abi = process.versions.modules;
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs) {
  console.error(`messenger: installing npm dependencies (npm ci) for Node.js ${process.version}; the first time takes 2 to 4 minutes, most of it compiling better-sqlite3 ...`);
  execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
  writeFileSync(abiMarker, abi);
} else if (!existsSync(abiMarker) || readFileSync(abiMarker, "utf8") !== abi) {
  console.error(`messenger: rebuilding native modules for Node.js ${process.version} (about a minute) ...`);
  execSync("npm rebuild better-sqlite3", { stdio: "inherit" });
  writeFileSync(abiMarker, abi);
}

function hasPythonGrpc() {
  try {
    execSync('/usr/bin/python3 -c "import grpc, grpc_tools"', { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const missing = [];
if (forCluster && !existsSync(process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server")) missing.push("nats-server");
if (forTests && !hasPythonGrpc()) missing.push("python3-grpcio", "python3-grpc-tools");
// The chart tests render the Helm templates with Go's text/template and Helm's own libraries
// (tests/chart/helm-render): no helm binary installs here, Debian's Go and sprig do.
if (forTests && !(existsSync("/usr/bin/go") && existsSync("/usr/share/gocode/src/github.com/Masterminds/sprig"))) {
  missing.push(
    "golang-go",
    "golang-github-masterminds-sprig-dev",
    "golang-github-masterminds-semver-dev",
    "golang-github-mitchellh-copystructure-dev",
    "golang-k8s-sigs-yaml-dev",
    "golang-gopkg-yaml.v3-dev",
    "golang-github-burntsushi-toml-dev",
    "golang-github-gobwas-glob-dev",
  );
}
if (missing.length > 0) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.error(`messenger: installing ${missing.join(" ")} (Debian packages) ...`);
    execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(" ")}`, { stdio: "inherit" });
  } else {
    console.error(`messenger: this needs Debian packages that are missing: sudo apt-get install ${missing.join(" ")}`);
  }
}
