import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MessengerClient } from "@messenger/sdk";
import { eventually, freePort, within } from "@messenger/testing";
import { afterAll, describe, expect, it } from "vitest";

// `npm run cluster` as a newcomer runs it: the script in a process group of its own (as a
// terminal's foreground job), stopped with a SIGINT to that whole group (what Ctrl-C sends),
// started again on the same DATA_DIR.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const password = "correct horse battery";
const dataDir = mkdtempSync(join(tmpdir(), "messenger-cluster-script-"));
const runs: ClusterScript[] = [];

/** One run of scripts/cluster.ts with its output collected. */
class ClusterScript {
  output = "";
  readonly exited: Promise<number | null>;
  readonly child: ChildProcess;

  constructor(basePort: number) {
    this.child = spawn(process.execPath, ["--import", "tsx", "scripts/cluster.ts", "--gateways", "1", "--base-port", String(basePort)], {
      cwd: repoRoot,
      env: { ...process.env, DATA_DIR: dataDir, SCRYPT_LOG_N: "12" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    for (const s of [this.child.stdout!, this.child.stderr!]) s.setEncoding("utf8").on("data", (d: string) => (this.output += d));
    this.exited = new Promise((done) => this.child.once("exit", (code) => done(code)));
    runs.push(this);
  }

  /** The gateway URL and the nats port, once the script says the cluster is up. */
  async up(timeoutMs = 240_000): Promise<{ url: string; natsPort: number }> {
    const start = Date.now();
    for (;;) {
      const url = /--url (http:\/\/\S+)/.exec(this.output)?.[1];
      const nats = /^ {2}nats +nats:\/\/127\.0\.0\.1:(\d+),/m.exec(this.output)?.[1];
      if (url && nats && this.output.includes("Ctrl-C stops everything")) return { url, natsPort: Number(nats) };
      if (this.child.exitCode !== null || Date.now() - start > timeoutMs) throw new Error(`the cluster did not come up:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Resolves with the exit code; rejects with the output if it takes longer than `timeoutMs`. */
  async exitCode(timeoutMs = 90_000): Promise<number | null> {
    return within(this.exited, timeoutMs, "the script to exit").catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; its output:\n${this.output}`);
    });
  }

  /** The line numbers, in the output, of each process's "stopped" line (services log it as JSON). */
  stoppedLines(): Map<string, number> {
    const at = new Map<string, number>();
    this.output.split("\n").forEach((line, i) => {
      const m = /^(\S+) +(.*)$/.exec(line);
      if (!m) return;
      if (m[2] === "nats-server stopped") at.set("nats", i);
      else if (m[2]!.startsWith("{") && (JSON.parse(m[2]!) as { msg?: string }).msg === "stopped") at.set(m[1]!, i);
    });
    return at;
  }
}

/** True while the process exists and is not a zombie (an orphan waits for init to reap it). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect(port, "127.0.0.1", () => {
      s.destroy();
      done(true);
    });
    s.once("error", () => done(false));
  });
}

afterAll(async () => {
  // A run a failed test left behind stops the way Ctrl-C stops it, so it stops what it started.
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) process.kill(r.child.pid!, "SIGTERM");
  await Promise.all(runs.map((r) => r.exitCode(60_000).catch(() => process.kill(-r.child.pid!, "SIGKILL"))));
  rmSync(dataDir, { recursive: true, force: true });
}, 90_000);

describe("npm run cluster", () => {
  it("keeps accounts and history in DATA_DIR across a Ctrl-C and a start, stopping nats-server last and every service cleanly", { timeout: 600_000 }, async () => {
    const basePort = await freePort();
    const first = new ClusterScript(basePort);
    const { url, natsPort } = await first.up();

    const alice = new MessengerClient({ url, deviceId: "laptop" });
    await alice.register("alice", password);
    await alice.register("bob", password);
    await alice.login("alice", password);
    const conv = await alice.openDirect((await alice.lookupUser("bob")).id);
    await alice.connect();
    const sent = await alice.send(conv.id, "kept across restarts");
    await alice.close();

    // Ctrl-C: the terminal signals the whole foreground process group.
    process.kill(-first.child.pid!, "SIGINT");
    expect(await first.exitCode()).toBe(0);
    expect(first.output).not.toContain("shutdown failed");
    // The services were stopped by the script (SIGTERM), not reached by the terminal's SIGINT.
    expect(first.output).not.toContain('"signal":"SIGINT"');
    const stopped = first.stoppedLines();
    const order = ["gateway-1", "groups", "router", "push", "media", "presence", "store", "accounts", "nats"];
    expect([...stopped.keys()].sort()).toEqual([...order].sort());
    expect([...stopped.entries()].sort((a, b) => a[1] - b[1]).map(([name]) => name)).toEqual(order);
    expect(await accepts(natsPort)).toBe(false);

    const second = new ClusterScript(basePort);
    const again = await second.up();
    expect(again.url).toBe(url);
    const bob = new MessengerClient({ url, deviceId: "phone" });
    try {
      await bob.login("bob", password);
      const page = await bob.listMessages(conv.id);
      expect(page.messages.map((m) => [m.seq, m.body.case === "text" ? m.body.value : ""])).toEqual([[sent.seq, "kept across restarts"]]);
    } finally {
      await bob.close();
    }
    process.kill(second.child.pid!, "SIGTERM");
    expect(await second.exitCode()).toBe(0);
    expect(second.output).not.toContain("shutdown failed");
  });

  it("a SIGKILLed script leaves no service or nats-server running", { timeout: 600_000 }, async () => {
    const run = new ClusterScript(await freePort());
    await run.up();
    const summary = run.output.slice(run.output.lastIndexOf("messenger cluster is up:"));
    const ports = [...summary.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    const pids = [...summary.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    expect(ports.length).toBeGreaterThanOrEqual(9 * 2);
    expect(pids).toHaveLength(9);
    for (const port of ports) expect(await accepts(port)).toBe(true);
    expect(pids.filter(running)).toEqual(pids);
    // Only the script: its services are in process groups of their own and get no signal.
    process.kill(run.child.pid!, "SIGKILL");
    await run.exitCode();
    await eventually(() => pids.filter(running).length === 0, "every process of the cluster exits", 60_000);
    expect((await Promise.all(ports.map(accepts))).filter(Boolean)).toEqual([]);
  });
});
