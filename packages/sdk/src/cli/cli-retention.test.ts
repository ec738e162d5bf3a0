import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliWorld } from "./cli-harness.js";

let world: CliWorld;
const cli = (...args: string[]) => world.cli(args);

beforeAll(async () => {
  world = await CliWorld.start("cli-retention", ["ola", "pim"]);
}, 60_000);

afterAll(async () => {
  await world?.close();
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
    await ola.waitFor(/^! \/retention takes off, delivered, or a duration/m);
    pim.writeLine("/retention delivered");
    await ola.waitFor(/^\[2\] -- pim set messages to be deleted from the server once delivered$/m);
    ola.writeLine("/retention");
    await ola.waitFor(/^-- messages are deleted from the server once delivered$/m);
    pim.writeLine("/retention off");
    await ola.waitFor(/^\[3\] -- pim set messages to be kept$/m);
    ola.writeLine("/quit");
    pim.writeLine("/quit");
    expect(await Promise.all([ola.exitCode(), pim.exitCode()])).toEqual([0, 0]);
    expect(ola.stderr + pim.stderr).toBe("");
  });
});
