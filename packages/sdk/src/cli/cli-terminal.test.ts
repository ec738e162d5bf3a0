import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliWorld, type CliProcess } from "./cli-harness.js";

// The CLI at a terminal (a pseudo-terminal, keys in raw mode), fed a paste far longer than a
// message may be: it must refuse it at once, and Ctrl-C and SIGTERM must end it mid-paste.
let world: CliWorld;
const cli = (args: readonly string[], opts: { terminal?: boolean } = { terminal: true }): CliProcess => world.cli(args, opts);

beforeAll(async () => {
  world = await CliWorld.start("cli-tty", ["kim", "lee"]);
}, 60_000);

afterAll(async () => {
  await world?.close();
});

/** A paste of `chars` characters with no line end, written without waiting for the terminal to take it. */
function paste(c: CliProcess, chars: number): void {
  c.write("x".repeat(chars));
}

describe("chat CLI at a terminal", { timeout: 60_000 }, () => {
  it("refuses a pasted line longer than a message at once, with the limit, and goes on", async () => {
    const kim = cli(["chat", "kim", "lee", "--device", "tty"]);
    await kim.waitFor(/-- connected; chatting with lee/);
    paste(kim, 100_000);
    kim.write("\r");
    await kim.waitFor(/! not sent: a message holds at most 16384 characters and that line had more/, 10_000);
    kim.write("after the paste\r");
    await kim.waitFor(/\[1\] me: after the paste ✓/);
    kim.write("\x03");
    expect(await kim.exitCode()).toBe(0);
  });

  it("ends the dropping of a cut line with its bracketed paste", async () => {
    const kim = cli(["chat", "kim", "lee", "--device", "tty"]);
    await kim.waitFor(/-- connected; chatting with lee/);
    kim.write(`\x1b[200~${"y".repeat(50_000)}\x1b[201~`);
    await kim.waitFor(/! not sent: a message holds at most 16384 characters and that line had more\r?\n/, 10_000);
    expect(kim.stdout).not.toContain("up to the next Enter");
    kim.write("typed after it\r");
    await kim.waitFor(/\[2\] me: typed after it ✓/);
    kim.write("/quit\r");
    expect(await kim.exitCode()).toBe(0);
  });

  it("exits on Ctrl-C in the middle of a huge paste", async () => {
    const kim = cli(["chat", "kim", "lee", "--device", "tty"]);
    await kim.waitFor(/-- connected; chatting with lee/);
    paste(kim, 2_000_000);
    kim.write("\x03");
    expect(await kim.exitCode(10_000)).toBe(0);
  });

  it("exits on SIGTERM in the middle of a huge paste", async () => {
    const kim = cli(["chat", "kim", "lee", "--device", "tty"]);
    await kim.waitFor(/-- connected; chatting with lee/);
    paste(kim, 2_000_000);
    process.kill(kim.cliPid(), "SIGTERM");
    expect(await kim.exitCode(10_000)).toBe(0);
  });

  // Last: it stops the system.
  it("leaves at once on Ctrl-C while reconnecting with a send pending, saying what was not sent", async () => {
    const kim = cli(["chat", "kim", "lee", "--device", "tty"]);
    await kim.waitFor(/-- connected; chatting with lee/);
    await world.system.stop();
    await kim.waitFor(/-- disconnected.*; reconnecting…/);
    kim.write("into the void\r\x03");
    // /quit would wait up to 5 s for the send; Ctrl-C does not.
    expect(await kim.exitCode(4_000)).toBe(0);
    expect(kim.stdout).toMatch(/! not sent \(Canceled: client closed\): into the void/);
  });
});
