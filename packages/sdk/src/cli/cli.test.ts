import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { MemberReceiptSchema, MessageSchema } from "@messenger/proto/chat/v1/types";
import { startTestSystem, type TestSystem } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError, defaultUrl, parseCommand } from "./args.js";
import { ConversationView } from "./conversation-view.js";
import { printable } from "./format.js";
import { ResumeFile, parseResumeState, resumeFilePath, serializeResumeState } from "./resume-file.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const tsx = join(repoRoot, "node_modules/.bin/tsx");
const password = "correct horse battery";

/** One run of the CLI as a child process, with its output collected. */
class Cli {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(args: readonly string[], env: Record<string, string>) {
    this.child = spawn(tsx, ["packages/sdk/src/cli/main.ts", ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stdout.setEncoding("utf8").on("data", (s: string) => (this.stdout += s));
    this.child.stderr.setEncoding("utf8").on("data", (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  writeLine(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Resolves once stdout matches; rejects with both streams after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const start = Date.now();
    while (!pattern.test(this.stdout)) {
      if (Date.now() - start > timeoutMs || !this.running) {
        throw new Error(`no ${pattern} in stdout (${this.running ? "still running" : "exited"})\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Resolves with the exit code; rejects if it takes longer than `timeoutMs`. */
  async exitCode(timeoutMs = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not exit\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }
}

let sys: TestSystem;
let home: string;
const children: Cli[] = [];

function cli(...args: string[]): Cli {
  const c = new Cli(args, { MESSENGER_PASSWORD: password, MESSENGER_HOME: home, MESSENGER_URL: sys.grpcUrl });
  children.push(c);
  return c;
}

/** The number of times `needle` occurs in `haystack`. */
function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

beforeAll(async () => {
  sys = await startTestSystem();
  home = mkdtempSync(join(tmpdir(), "messenger-cli-"));
});

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  await sys?.dispose();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("chat CLI", { timeout: 60_000 }, () => {
  it("registers two users who then chat, with receipts, and quit cleanly", async () => {
    const regs = [cli("register", "alice"), cli("register", "bob")];
    expect(await Promise.all(regs.map((r) => r.exitCode()))).toEqual([0, 0]);
    expect(regs[0]!.stdout).toMatch(/^registered alice \(id \S+\)$/m);

    const alice = cli("chat", "alice", "bob", "--device", "laptop");
    const bob = cli("chat", "bob", "alice", "--device", "laptop");
    await Promise.all([alice.waitFor(/-- connected/), bob.waitFor(/-- connected/)]);

    alice.writeLine("hello bob");
    await bob.waitFor(/^\[1\] alice: hello bob$/m);
    await alice.waitFor(/^\[1\] me: hello bob$/m);
    // Bob's client acks it and Bob's screen marks it read.
    await alice.waitFor(/✓✓ read up to 1$/m);

    bob.writeLine("hi alice");
    await alice.waitFor(/^\[2\] bob: hi alice$/m);
    await bob.waitFor(/^\[2\] me: hi alice$/m);

    alice.writeLine("/quit");
    expect(await alice.exitCode()).toBe(0);
    await bob.waitFor(/-- alice was last seen (\d{4}-\d\d-\d\d )?\d\d:\d\d$/m);
    bob.writeLine("/quit");
    expect(await bob.exitCode()).toBe(0);
    expect(alice.stderr).toBe("");
    expect(bob.stderr).toBe("");

    const files = readdirSync(home).sort();
    expect(files).toEqual(["alice@laptop.resume.json", "bob@laptop.resume.json"]);
    const saved: unknown = JSON.parse(readFileSync(join(home, "bob@laptop.resume.json"), "utf8"));
    expect(saved).toMatchObject({ url: sys.grpcUrl, syncVersion: expect.stringMatching(/^[1-9]\d*$/) });
    expect(Object.values((saved as { cursors: Record<string, string> }).cursors)).toEqual(["2"]);
  });

  it("resumes after a restart: history once, then what was missed, each message once", async () => {
    const bob = cli("chat", "bob", "alice", "--device", "laptop");
    await bob.waitFor(/-- connected/);
    expect(count(bob.stdout, "[1] alice: hello bob")).toBe(1);
    expect(count(bob.stdout, "[2] me: hi alice")).toBe(1);
    bob.writeLine("/quit");
    expect(await bob.exitCode()).toBe(0);

    // Alice writes while Bob is away; Bob's next start shows it once (history and replay overlap).
    const alice = cli("chat", "alice", "bob", "--device", "laptop");
    await alice.waitFor(/-- connected/);
    alice.writeLine("are you there?");
    await alice.waitFor(/^\[3\] me: are you there\?$/m);
    alice.writeLine("/quit");
    expect(await alice.exitCode()).toBe(0);

    const again = cli("chat", "bob", "alice", "--device", "laptop");
    await again.waitFor(/-- connected/);
    again.writeLine("/quit");
    expect(await again.exitCode()).toBe(0);
    expect(count(again.stdout, "[3] alice: are you there?")).toBe(1);
    expect(count(again.stdout, "[1] alice: hello bob")).toBe(1);
  });

  it("fails with a one-line gRPC error and a non-zero exit code", async () => {
    const unknownPeer = cli("chat", "alice", "nobody");
    expect(await unknownPeer.exitCode()).toBe(1);
    expect(unknownPeer.stderr).toBe("messenger: NotFound: user nobody not found\n");

    const wrong = new Cli(["chat", "alice", "bob"], { MESSENGER_PASSWORD: "not the password", MESSENGER_HOME: home, MESSENGER_URL: sys.grpcUrl });
    children.push(wrong);
    expect(await wrong.exitCode()).toBe(1);
    expect(wrong.stderr).toMatch(/^messenger: Unauthenticated: .+\n$/);

    const taken = cli("register", "alice");
    expect(await taken.exitCode()).toBe(1);
    expect(taken.stderr).toMatch(/^messenger: AlreadyExists: .+\n$/);

    const usage = cli("chat", "alice");
    expect(await usage.exitCode()).toBe(2);
  });
});

describe("CLI pieces", () => {
  it("parses commands, with --url over MESSENGER_URL over the default", () => {
    expect(parseCommand(["register", "alice"], {})).toEqual({ kind: "register", username: "alice", url: defaultUrl });
    expect(parseCommand(["chat", "alice", "bob"], { MESSENGER_URL: "http://h:1" }, "my host!")).toEqual({
      kind: "chat",
      username: "alice",
      peer: "bob",
      url: "http://h:1",
      deviceId: "cli-my-host-",
    });
    expect(parseCommand(["chat", "--url", "https://x:2/", "alice", "bob", "--device", "d1"], { MESSENGER_URL: "http://h:1" })).toMatchObject({
      url: "https://x:2",
      deviceId: "d1",
    });
    expect(parseCommand(["--help"], {})).toEqual({ kind: "help" });
    for (const bad of [[], ["frob"], ["chat", "alice"], ["register", "a", "b"], ["register", "a", "--device", "d"], ["chat", "a", "b", "--url", "ftp://x"], ["chat", "a", "b", "--nope"]]) {
      expect(() => parseCommand(bad, {}), bad.join(" ")).toThrow(UsageError);
    }
  });

  it("round-trips resume state with bigints as strings and rejects malformed files", async () => {
    const state = { syncVersion: 18446744073709551615n, cursors: new Map([["dm_1", 7n], ["dm_2", 0n]]) };
    const text = serializeResumeState("http://h:1", state);
    expect(JSON.parse(text)).toEqual({ url: "http://h:1", syncVersion: "18446744073709551615", cursors: { dm_1: "7", dm_2: "0" } });
    expect(parseResumeState(text)).toEqual({ url: "http://h:1", state });
    for (const bad of ["[]", "{}", '{"url":"u","syncVersion":5,"cursors":{}}', '{"url":"u","syncVersion":"-1","cursors":{}}', '{"url":"u","syncVersion":"18446744073709551616","cursors":{}}', '{"url":"u","syncVersion":"1","cursors":{"c":"x"}}']) {
      expect(() => parseResumeState(bad), bad).toThrow();
    }

    const dir = mkdtempSync(join(tmpdir(), "messenger-resume-"));
    try {
      const path = resumeFilePath(join(dir, "nested"), "a/b", "dev ice");
      expect(path).toBe(join(dir, "nested", "a%2Fb@dev%20ice.resume.json"));
      const warnings: string[] = [];
      const file = new ResumeFile(path, "http://h:1");
      expect(await file.load((w) => warnings.push(w))).toBeUndefined();
      await Promise.all([file.save({ syncVersion: 1n, cursors: new Map() }), file.save(state)]);
      expect(await new ResumeFile(path, "http://h:1").load((w) => warnings.push(w))).toEqual(state);
      expect(warnings).toEqual([]);
      expect(await new ResumeFile(path, "http://other:1").load((w) => warnings.push(w))).toBeUndefined();
      writeFileSync(path, "{not json");
      expect(await new ResumeFile(path, "http://h:1").load((w) => warnings.push(w))).toBeUndefined();
      expect(warnings).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("makes control characters in message text visible", () => {
    expect(printable("hi\u001b[2J\u0007there\r")).toBe("hi\\u001b[2J\\u0007there\\u000d");
    expect(printable("a\tb\nc")).toBe("a\tb\n    c");
  });

  it("shows each message once and receipts only when they newly cover my messages", () => {
    const lines: string[] = [];
    const view = new ConversationView("c", { myUserId: "me", peerUserId: "p", peerName: "bob" }, (l) => lines.push(l));
    const msg = (seq: bigint, from: string, text: string) => create(MessageSchema, { conversationId: "c", seq, senderUserId: from, text });
    const receipt = (deliveredSeq: bigint, readSeq: bigint) => create(MemberReceiptSchema, { userId: "p", deliveredSeq, readSeq });
    view.show(msg(1n, "me", "one"));
    view.show(msg(2n, "p", "two"));
    view.show(msg(1n, "me", "one"));
    view.show(create(MessageSchema, { conversationId: "other", seq: 3n, senderUserId: "p", text: "elsewhere" }));
    view.onReceipt(receipt(1n, 0n));
    view.onReceipt(receipt(2n, 0n));
    view.onReceipt(receipt(2n, 2n));
    view.onReceipt(receipt(2n, 2n));
    view.show(msg(3n, "me", "three"));
    view.onReceipt(receipt(3n, 3n));
    expect(lines).toEqual(["[1] me: one", "[2] bob: two", "  ✓✓ delivered up to 1", "  ✓✓ read up to 1", "[3] me: three", "  ✓✓ read up to 3"]);
    expect(view.shownUpTo).toBe(3n);

    lines.length = 0;
    view.hold();
    view.show(msg(9n, "p", "live, during the reload"));
    view.release([msg(6n, "p", "six"), msg(7n, "p", "seven"), msg(8n, "p", "eight"), msg(9n, "p", "live, during the reload")]);
    expect(lines).toEqual(["… 2 messages not shown", "[6] bob: six", "[7] bob: seven", "[8] bob: eight", "[9] bob: live, during the reload"]);
  });
});
