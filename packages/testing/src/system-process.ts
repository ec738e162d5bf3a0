import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testLimitsEnv } from "./test-limits.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The one-process system running as a child process, as `npm start` runs it. */
export interface SystemProcess {
  readonly child: ChildProcess;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly grpcUrl: string;
  readonly dataDir: string;
  /** Sends SIGTERM, waits for exit, deletes the data directory. */
  stop(): Promise<number | null>;
}

/**
 * Starts `services/standalone/src/main.ts` in its own process on free ports. Tests that
 * need the server and a misbehaving client on different event loops use this.
 */
export async function spawnSystem(env: Record<string, string> = {}, execArgv: string[] = []): Promise<SystemProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "messenger-proc-"));
  // node with the tsx loader, no wrapper process, so a signal reaches the server itself.
  const child = spawn(process.execPath, [...execArgv, "--import", "tsx", join(repoRoot, "services/standalone/src/main.ts")], {
    cwd: repoRoot,
    env: { ...process.env, GRPC_PORT: "0", HTTP_PORT: "0", SCRYPT_LOG_N: "12", LOG_LEVEL: "warn", ...testLimitsEnv(), DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Whatever ends this process (a test runner, a bench tool whose output pipe closed) ends
  // the server with it.
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.removeListener("exit", killOnExit));
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const ports = await new Promise<{ grpc: number; http: number }>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`system did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /gRPC on [^:]+:(\d+), Connect\/gRPC-Web on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ grpc: Number(m[1]), http: Number(m[2]) });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`system exited with ${code}: ${stderr}`));
    });
  });
  return {
    child,
    grpcPort: ports.grpc,
    httpPort: ports.http,
    grpcUrl: `http://127.0.0.1:${ports.grpc}`,
    dataDir,
    async stop() {
      const exited = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.once("exit", (code) => resolve(code));
      });
      child.kill("SIGTERM");
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
