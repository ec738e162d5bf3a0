import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSystem, type SystemProcess } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliProcess } from "./cli-harness.js";

const password = "correct horse battery";
let sys: SystemProcess;
let home: string;
const children: CliProcess[] = [];

function cli(...args: string[]): CliProcess {
  const c = new CliProcess(args, { MESSENGER_PASSWORD: password, MESSENGER_HOME: home, MESSENGER_URL: sys.grpcUrl });
  children.push(c);
  return c;
}

beforeAll(async () => {
  sys = await spawnSystem();
  home = mkdtempSync(join(tmpdir(), "messenger-cli-retention-home-"));
  const regs = ["ola", "pim"].map((u) => cli("register", u));
  expect(await Promise.all(regs.map((r) => r.exitCode()))).toEqual([0, 0]);
});

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  await sys?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("chat CLI retention", { timeout: 90_000 }, () => {
  it("shows the conversation's retention, sets it (both sides see the change), and refuses what the server does not offer", async () => {
    const ola = cli("chat", "ola", "pim", "--device", "laptop");
    const pim = cli("chat", "pim", "ola", "--device", "laptop");
    await Promise.all([ola.waitFor(/-- connected/), pim.waitFor(/-- connected/)]);
    ola.writeLine("/retention");
    await ola.waitFor(/^-- messages are kept$/m);
    ola.writeLine("/retention 1h");
    await ola.waitFor(/^\[1\] -- you set messages to disappear after 1 hour$/m);
    await pim.waitFor(/^\[1\] -- ola set messages to disappear after 1 hour$/m);
    pim.writeLine("/retention");
    await pim.waitFor(/^-- messages disappear 1 hour after they are sent$/m);
    ola.writeLine("/retention 1m");
    await ola.waitFor(/^! \/retention failed: .*ttl_seconds must be 300 to 7776000/m);
    ola.writeLine("/retention soon");
    await ola.waitFor(/^! \/retention takes off, or a duration/m);
    pim.writeLine("/retention off");
    await ola.waitFor(/^\[2\] -- pim set messages to be kept$/m);
    ola.writeLine("/quit");
    pim.writeLine("/quit");
    expect(await Promise.all([ola.exitCode(), pim.exitCode()])).toEqual([0, 0]);
    expect(ola.stderr + pim.stderr).toBe("");
  });
});
