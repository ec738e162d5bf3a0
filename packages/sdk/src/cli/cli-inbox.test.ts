import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliWorld } from "./cli-harness.js";

let world: CliWorld;
const cli = (...args: string[]) => world.cli(args);

beforeAll(async () => {
  world = await CliWorld.start("cli-inbox", ["harry", "ivy", "jack"]);
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe("chat CLI conversations", { timeout: 90_000 }, () => {
  it("lists direct chats, groups and message requests with /inbox and switches between them with /open", async () => {
    const ivy = cli("group", "ivy", "Book club", "harry", "--device", "laptop");
    await ivy.waitFor(/^-- connected; in group “Book club” \(2 members\)/m);
    ivy.writeLine("first chapter?");
    await ivy.waitFor(/^\[2\] me: first chapter\? ✓$/m);
    const jack = cli("chat", "jack", "harry", "--device", "laptop");
    await jack.waitFor(/^-- connected; chatting with harry/m);
    jack.writeLine("hi harry");
    await jack.waitFor(/^\[1\] me: hi harry ✓$/m);
    jack.writeLine("/quit");
    expect(await jack.exitCode()).toBe(0);

    const harry = cli("chat", "harry", "ivy", "--device", "laptop");
    await harry.waitFor(/^-- connected; chatting with ivy/m);
    // What came while harry was away, elsewhere, in one line.
    await harry.waitFor(/^-- new messages in 2 other conversations; \/inbox lists them$/m);
    harry.writeLine("/inbox");
    await harry.waitFor(/^-- 3 conversations; \/open N switches to one:$/m);
    await harry.waitFor(/^\* +\d\. ivy$/m);
    expect(harry.stdout).toMatch(/^ {2}\d\. “Book club” \(group, 2 members\) · 2 unread · \[2\] ivy: first chapter\?$/m);
    // Message requests come after the inbox.
    expect(harry.stdout).toMatch(/^ {2}3\. jack \(message request\) · 1 unread · \[1\] jack: hi harry$/m);

    harry.writeLine("/open book CLUB");
    await harry.waitFor(/^\[2\] ivy: first chapter\?\n-- now in group “Book club” \(2 members\)$/m);
    harry.writeLine("on it");
    await ivy.waitFor(/^\[3\] harry: on it$/m);
    await harry.waitFor(/^\[3\] me: on it ✓$/m);

    harry.writeLine("/open 3");
    await harry.waitFor(/^-- now chatting with jack$/m);
    expect(harry.stdout).toMatch(/^-- a message request from jack, who is not a contact: replying accepts it; \/block jack stops them\n\[1\] jack: hi harry$/m);
    // Off screen, ivy writes in the group: harry is told once.
    ivy.writeLine("page 10");
    ivy.writeLine("page 11");
    await harry.waitFor(/^-- ivy wrote in another conversation; \/inbox lists them, \/open switches$/m);

    harry.writeLine("/open ivy");
    await harry.waitFor(/^-- now chatting with ivy$/m);
    harry.writeLine("/open ivy");
    await harry.waitFor(/^-- already in ivy$/m);
    harry.writeLine("/open 9");
    await harry.waitFor(/^! \/open failed: NotFound: no conversation 9: \/inbox lists 3 conversations$/m);
    harry.writeLine("/open nobody-here");
    await harry.waitFor(/^! \/open failed: NotFound: no conversation or user “nobody-here”$/m);

    // Back in the group: what ivy wrote meanwhile, after a marker.
    harry.writeLine("/open Book club");
    await harry.waitFor(/^\[3\] me: on it ✓\n-- 2 new since you were away --\n\[4\] ivy: page 10\n\[5\] ivy: page 11\n(?: {2}.+\n)*-- now in group “Book club” \(2 members\)$/m);
    expect(harry.stdout.split("-- ivy wrote in another conversation").length - 1).toBe(1);

    for (const c of [harry, ivy]) c.writeLine("/quit");
    expect(await Promise.all([harry.exitCode(), ivy.exitCode()])).toEqual([0, 0]);
    for (const c of [harry, ivy, jack]) expect(c.stderr).toBe("");
  });
});
