// Test support: the CLI as a child process, the way `npm run chat` runs it, on a pipe or on
// a pseudo-terminal.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSystem, type SystemProcess } from "@messenger/testing";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const cliArgs = ["--import", "tsx", "packages/sdk/src/cli/main.ts"];

/**
 * One run of the CLI with its output collected: on pipes, or (`terminal`) on a
 * pseudo-terminal made by util-linux `script`, where it reads keys in raw mode as at a
 * real terminal; its output then carries the terminal's escape sequences, and stderr comes
 * with stdout.
 */
export class CliProcess {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(args: readonly string[], env: Record<string, string>, opts: { terminal?: boolean } = {}) {
    if (opts.terminal) {
      const command = ["exec", JSON.stringify(process.execPath), ...cliArgs, ...args.map((a) => JSON.stringify(a))].join(" ");
      // -e: script exits with the CLI's code; -f: output as it comes; bash execs the command, so the CLI is script's child.
      this.child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: repoRoot, env: { ...process.env, ...env, SHELL: "/bin/bash" }, stdio: ["pipe", "pipe", "pipe"] });
    } else {
      this.child = spawn(process.execPath, [...cliArgs, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    }
    this.child.stdout.setEncoding("utf8").on("data", (s: string) => (this.stdout += s));
    this.child.stderr.setEncoding("utf8").on("data", (s: string) => (this.stderr += s));
    // Input written after the CLI exited has nowhere to go.
    this.child.stdin.on("error", () => undefined);
    this.exited = new Promise((done) => this.child.on("exit", (code) => done(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The CLI's own process id (on a terminal, `script`'s child). */
  cliPid(): number {
    const pid = this.child.pid!;
    try {
      const child = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)[0];
      return child ? Number(child) : pid;
    } catch {
      return pid;
    }
  }

  writeLine(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Writes as typed or pasted: on a terminal, Enter is "\r" and Ctrl-C "\x03". */
  write(text: string): void {
    this.child.stdin.write(text);
  }

  /** Resolves once stdout matches; rejects with both streams after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const start = Date.now();
    while (!pattern.test(this.stdout)) {
      if (Date.now() - start > timeoutMs || !this.running) {
        throw new Error(`no ${pattern} in stdout (${this.running ? "still running" : "exited"})\n--- stdout\n${tail(this.stdout)}--- stderr\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Resolves with the exit code; rejects if it takes longer than `timeoutMs`. */
  async exitCode(timeoutMs = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not exit in ${timeoutMs} ms\n--- stdout\n${tail(this.stdout)}--- stderr\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (!this.running) return;
    const cli = this.cliPid();
    try {
      if (cli !== this.child.pid) process.kill(cli, "SIGKILL");
    } catch {
      // Gone already.
    }
    this.child.kill("SIGKILL");
  }
}

/** The last few thousand characters (a pasted line would drown the rest). */
function tail(s: string): string {
  return s.length > 4_000 ? `…${s.slice(-4_000)}` : s;
}

/** The number of times `needle` occurs in `haystack`. */
export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

const password = "correct horse battery";

/**
 * A system in a child process, a CLI home directory, and every CLI a test runs against them
 * (with the password in the environment); `close()` ends them all and deletes the home.
 */
export class CliWorld {
  private readonly children: CliProcess[] = [];

  private constructor(
    readonly system: SystemProcess,
    readonly home: string,
  ) {}

  /** Starts the system and registers `users`. */
  static async start(name: string, users: readonly string[]): Promise<CliWorld> {
    const world = new CliWorld(await spawnSystem(), mkdtempSync(join(tmpdir(), `messenger-${name}-`)));
    const codes = await Promise.all(users.map((u) => world.cli(["register", u]).exitCode()));
    if (codes.some((c) => c !== 0)) throw new Error(`registering ${users.join(", ")} exited with ${codes.join(", ")}`);
    return world;
  }

  /** A CLI run against the system (or `url`). */
  cli(args: readonly string[], opts: { terminal?: boolean; url?: string } = {}): CliProcess {
    const c = new CliProcess(args, { MESSENGER_PASSWORD: password, MESSENGER_HOME: this.home, MESSENGER_URL: opts.url ?? this.system.grpcUrl }, opts);
    this.children.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.children) c.kill();
    await Promise.all(this.children.map((c) => c.exited));
    await this.system.stop();
    rmSync(this.home, { recursive: true, force: true });
  }
}
