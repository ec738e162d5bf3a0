// Makes a fresh clone runnable: installs npm dependencies when node_modules is missing or
// older than package-lock.json, and (for the tests) the Debian Python gRPC packages that the
// interop test drives. Runs before `npm start` and `npm test`.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const forTests = process.argv.includes("--tests");
const marker = "node_modules/.package-lock.json";
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs) {
  console.error("messenger: installing npm dependencies (npm ci) ...");
  execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
}

function hasPythonGrpc() {
  try {
    execSync('/usr/bin/python3 -c "import grpc, grpc_tools"', { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

if (forTests && !hasPythonGrpc()) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.error("messenger: installing python3-grpcio python3-grpc-tools for the interop tests ...");
    execSync("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-grpcio python3-grpc-tools", { stdio: "inherit" });
  } else {
    console.error("messenger: the interop tests need Debian's python3-grpcio and python3-grpc-tools: sudo apt-get install python3-grpcio python3-grpc-tools");
  }
}
