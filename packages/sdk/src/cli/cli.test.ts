import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnSystem, type SystemProcess } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliProcess, count } from "./cli-harness.js";

const password = "correct horse battery";

let sys: SystemProcess;
let home: string;
const children: CliProcess[] = [];

function cli(...args: string[]): CliProcess {
  return cliAt(sys.grpcUrl, ...args);
}

function cliAt(url: string, ...args: string[]): CliProcess {
  const c = new CliProcess(args, { MESSENGER_PASSWORD: password, MESSENGER_HOME: home, MESSENGER_URL: url });
  children.push(c);
  return c;
}

function savedState(file: string): { userId: string; cursors: Record<string, string> } {
  return JSON.parse(readFileSync(join(home, `${file}.resume.json`), "utf8")) as { userId: string; cursors: Record<string, string> };
}

beforeAll(async () => {
  sys = await spawnSystem();
  home = mkdtempSync(join(tmpdir(), "messenger-cli-"));
});

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  await sys?.stop();
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
    // Contacts see each other's presence (bob is shown when alice was last seen, below).
    alice.writeLine("/add bob");
    await alice.waitFor(/^-- asked bob to be a contact$/m);
    bob.writeLine("/accept alice");
    await bob.waitFor(/^-- alice is a contact now$/m);

    alice.writeLine("hello bob");
    await bob.waitFor(/^\[1\] alice: hello bob$/m);
    // ✓: stored on the server.
    await alice.waitFor(/^\[1\] me: hello bob ✓$/m);
    // Bob's client acks it and Bob's screen marks it read.
    await alice.waitFor(/^ {2}✔✔ read up to 1$/m);

    bob.writeLine("hi alice");
    await alice.waitFor(/^\[2\] bob: hi alice$/m);
    await bob.waitFor(/^\[2\] me: hi alice ✓$/m);

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
    // sync_version is unused by the server now (0).
    // Keyed by bob's account id on this deployment, not by the URL.
    expect(saved).toMatchObject({ userId: expect.stringMatching(/^u_/), syncVersion: expect.stringMatching(/^\d+$/) });
    expect(saved).not.toHaveProperty("url");
    expect(Object.values((saved as { cursors: Record<string, string> }).cursors)).toEqual(["2"]);
    // Alice saw bob's receipts (she showed "read up to 1"): she keeps their version to resume from.
    const aliceSaved = JSON.parse(readFileSync(join(home, "alice@laptop.resume.json"), "utf8")) as { cursors: Record<string, string>; receiptsVersions: Record<string, string> };
    expect(Object.keys(aliceSaved.receiptsVersions)).toEqual(Object.keys(aliceSaved.cursors));
    expect(Object.values(aliceSaved.receiptsVersions)).toEqual([expect.stringMatching(/^[1-9]\d*$/)]);
  });

  it("resumes after a restart: history once, then what was missed, each message once", async () => {
    const bob = cli("chat", "bob", "alice", "--device", "laptop");
    await bob.waitFor(/-- connected/);
    expect(count(bob.stdout, "[1] alice: hello bob")).toBe(1);
    expect(count(bob.stdout, "[2] me: hi alice ✓")).toBe(1);
    bob.writeLine("/quit");
    expect(await bob.exitCode()).toBe(0);

    // Alice writes while Bob is away; Bob's next start shows it once (history and replay overlap).
    const alice = cli("chat", "alice", "bob", "--device", "laptop");
    await alice.waitFor(/-- connected/);
    alice.writeLine("are you there?");
    // Bob is offline: sent (stored), no more.
    await alice.waitFor(/^\[3\] me: are you there\? ✓$/m);
    alice.writeLine("/quit");
    expect(await alice.exitCode()).toBe(0);

    const again = cli("chat", "bob", "alice", "--device", "laptop");
    await again.waitFor(/-- connected/);
    again.writeLine("/quit");
    expect(await again.exitCode()).toBe(0);
    expect(count(again.stdout, "[3] alice: are you there?")).toBe(1);
    expect(count(again.stdout, "[1] alice: hello bob")).toBe(1);
    // Bob had read up to his own 2: a marker shows where what he missed begins.
    expect(again.stdout).toMatch(/^\[2\] me: hi alice ✓\n-- 1 new since you were away --\n\[3\] alice: are you there\?$/m);
  });

  it("keeps its resume state through another address of the same deployment", async () => {
    const alice = cli("chat", "alice", "bob", "--device", "laptop");
    await alice.waitFor(/-- connected/);
    alice.writeLine("through the other port");
    await alice.waitFor(/^\[4\] me: through the other port ✓$/m);
    alice.writeLine("/quit");
    expect(await alice.exitCode()).toBe(0);

    // The HTTP port serves gRPC too: another address of the same deployment.
    const before = savedState("bob@laptop");
    const bob = cliAt(`http://127.0.0.1:${sys.httpPort}`, "chat", "bob", "alice", "--device", "laptop");
    await bob.waitFor(/-- connected/);
    await bob.waitFor(/^\[4\] alice: through the other port$/m);
    bob.writeLine("/quit");
    expect(await bob.exitCode()).toBe(0);
    // No "starting without it": the state was resumed, and it moves on under the same account.
    expect(bob.stderr).toBe("");
    const after = savedState("bob@laptop");
    expect(after.userId).toBe(before.userId);
    expect(Object.values(after.cursors)).toEqual(["4"]);
  });

  it("takes several gateway addresses and moves past one that is down", async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const bob = cliAt(`${down},${sys.grpcUrl}`, "chat", "bob", "alice", "--device", "laptop");
    await bob.waitFor(/-- connected; chatting with alice/);
    expect(bob.stdout).toContain(`-- connecting to ${down}, ${sys.grpcUrl} as bob`);
    bob.writeLine("still here");
    await bob.waitFor(/^\[5\] me: still here ✓$/m);
    bob.writeLine("/quit");
    expect(await bob.exitCode()).toBe(0);
    expect(bob.stderr).toBe("");
  });

  it("manages contacts: /add, /contacts, /accept, /block, /unblock", async () => {
    const regs = [cli("register", "erin"), cli("register", "frank")];
    expect(await Promise.all(regs.map((r) => r.exitCode()))).toEqual([0, 0]);
    const erin = cli("chat", "erin", "frank", "--device", "laptop");
    const frank = cli("chat", "frank", "erin", "--device", "laptop");
    await Promise.all([erin.waitFor(/-- connected/), frank.waitFor(/-- connected/)]);

    erin.writeLine("/add frank");
    await erin.waitFor(/^-- asked frank to be a contact$/m);
    frank.writeLine("/contacts");
    await frank.waitFor(/^-- no contacts yet \(\/add NAME\)$/m);
    await frank.waitFor(/^-- asking you: erin \(\/accept NAME or \/decline NAME\)$/m);
    frank.writeLine("/accept erin");
    await frank.waitFor(/^-- erin is a contact now$/m);
    erin.writeLine("/contacts");
    await erin.waitFor(/^-- contacts: frank$/m);

    // Gina, a stranger, writes to frank and asks to be a contact: a message request and a
    // contact request, which frank declines.
    expect(await cli("register", "gina").exitCode()).toBe(0);
    const gina = cli("chat", "gina", "frank", "--device", "laptop");
    await gina.waitFor(/-- connected/);
    gina.writeLine("hello stranger");
    await gina.waitFor(/^\[1\] me: hello stranger ✓$/m);
    gina.writeLine("/add frank");
    await gina.waitFor(/^-- asked frank to be a contact$/m);
    frank.writeLine("/contacts");
    await frank.waitFor(/^-- contacts: erin$/m);
    await frank.waitFor(/^-- message requests from: gina \(open one with: chat ME NAME\)$/m);
    await frank.waitFor(/^-- asking you: gina \(\/accept NAME or \/decline NAME\)$/m);
    frank.writeLine("/decline gina");
    await frank.waitFor(/^-- declined gina's request$/m);
    gina.writeLine("/quit");
    expect(await gina.exitCode()).toBe(0);

    frank.writeLine("/block erin");
    await frank.waitFor(/^-- blocked erin$/m);
    erin.writeLine("still there?");
    await erin.waitFor(/^! not sent \(PermissionDenied: .+\): still there\?$/m);
    frank.writeLine("/unblock erin");
    await frank.waitFor(/^-- unblocked erin$/m);
    erin.writeLine("back again");
    await frank.waitFor(/^\[1\] erin: back again$/m);

    for (const c of [erin, frank]) {
      c.writeLine("/quit");
      expect(await c.exitCode()).toBe(0);
    }
  });

  it("fails with a one-line gRPC error and a non-zero exit code", async () => {
    const unknownPeer = cli("chat", "alice", "nobody");
    expect(await unknownPeer.exitCode()).toBe(1);
    expect(unknownPeer.stderr).toBe("messenger: NotFound: user nobody not found\n");

    const wrong = new CliProcess(["chat", "alice", "bob"], { MESSENGER_PASSWORD: "not the password", MESSENGER_HOME: home, MESSENGER_URL: sys.grpcUrl });
    children.push(wrong);
    expect(await wrong.exitCode()).toBe(1);
    expect(wrong.stderr).toMatch(/^messenger: Unauthenticated: .+\n$/);

    const taken = cli("register", "alice");
    expect(await taken.exitCode()).toBe(1);
    expect(taken.stderr).toMatch(/^messenger: AlreadyExists: .+\n$/);

    const noGroup = cli("open", "alice", "No such group");
    expect(await noGroup.exitCode()).toBe(1);
    expect(noGroup.stderr).toBe("messenger: NotFound: no group “No such group” among your conversations\n");

    const usage = cli("chat", "alice");
    expect(await usage.exitCode()).toBe(2);
  });

  it("runs a group: create, invite, chat with receipts, roles, title, kick, re-add, leave", { timeout: 120_000 }, async () => {
    const regs = [cli("register", "carol"), cli("register", "dave")];
    expect(await Promise.all(regs.map((r) => r.exitCode()))).toEqual([0, 0]);

    const alice = cli("group", "alice", "Weekend trip", "bob", "--device", "laptop");
    await alice.waitFor(/^-- connected; in group “Weekend trip” \(2 members\)/m);
    expect(alice.stdout).toMatch(/^-- created group “Weekend trip” \(id \S+\)$/m);
    expect(alice.stdout).toMatch(/^\[1\] -- you created the group “Weekend trip” with bob$/m);

    // By title, as bob sees it; carol and dave are not in it yet.
    const bob = cli("chat", "bob", "--group", "Weekend trip", "--device", "laptop");
    await bob.waitFor(/^-- connected; in group “Weekend trip”/m);
    expect(bob.stdout).toMatch(/^\[1\] -- alice created the group “Weekend trip” with you$/m);

    alice.writeLine("/invite carol dave");
    await alice.waitFor(/^\[2\] -- you added carol, dave$/m);
    await bob.waitFor(/^\[2\] -- alice added carol, dave$/m);

    // Carol's membership starts at 2: she never sees 1.
    const carol = cli("open", "carol", "weekend TRIP", "--device", "laptop");
    await carol.waitFor(/^-- connected; in group “Weekend trip” \(4 members\)/m);
    expect(carol.stdout).toMatch(/^\[2\] -- alice added you, dave$/m);
    expect(carol.stdout).not.toMatch(/^\[1\]/m);

    alice.writeLine("hello group");
    await alice.waitFor(/^\[3\] me: hello group ✓$/m);
    await bob.waitFor(/^\[3\] alice: hello group$/m);
    await carol.waitFor(/^\[3\] alice: hello group$/m);
    // Bob and carol have it on screen, dave has not even opened the group.
    await alice.waitFor(/^ {2}✔✔ read by 2 of 3 up to 3$/m);
    alice.writeLine("/readby 3");
    await alice.waitFor(/^-- \[3\] read by 2 of 3: (bob, carol|carol, bob)$/m);

    alice.writeLine("/members");
    await alice.waitFor(/^-- 4 members: me \(owner\), bob, carol, dave$/m);

    alice.writeLine("/admin bob");
    await bob.waitFor(/^\[4\] -- alice made you an admin$/m);
    alice.writeLine("/title Trip 2026");
    await bob.waitFor(/^\[5\] -- alice renamed the group to “Trip 2026”$/m);

    // Bob, now an admin, removes dave; then alice removes carol, writes, and adds carol back.
    bob.writeLine("/kick dave");
    await alice.waitFor(/^\[6\] -- bob removed dave$/m);
    alice.writeLine("/kick carol");
    await carol.waitFor(/^\[7\] -- alice removed you$/m);
    alice.writeLine("while carol is out");
    await bob.waitFor(/^\[8\] alice: while carol is out$/m);
    alice.writeLine("/invite carol");
    await alice.waitFor(/^\[9\] -- you added carol$/m);
    // 8 lies outside carol's membership: her client skips it instead of waiting for it.
    await carol.waitFor(/^\[9\] -- alice added you$/m);
    alice.writeLine("welcome back");
    await carol.waitFor(/^\[10\] alice: welcome back$/m);
    expect(carol.stdout).not.toContain("while carol is out");

    bob.writeLine("/leave");
    expect(await bob.exitCode()).toBe(0);
    await alice.waitFor(/^\[11\] -- bob left$/m);
    await carol.waitFor(/^\[11\] -- bob left$/m);
    // Everyone left in the group (carol) read 10: read by all.
    await alice.waitFor(/^ {2}✔✔ read by all up to 10$/m);

    alice.writeLine("/help");
    await alice.waitFor(/\/readby SEQ/);
    for (const c of [alice, carol]) c.writeLine("/quit");
    expect(await Promise.all([alice.exitCode(), carol.exitCode()])).toEqual([0, 0]);
    for (const c of [alice, bob, carol]) expect(c.stderr).toBe("");

    // Carol comes back by the new title: her history and her resume hold neither 1 nor 8.
    const again = cli("open", "carol", "Trip 2026", "--device", "laptop");
    await again.waitFor(/^-- connected; in group “Trip 2026” \(2 members\)/m);
    again.writeLine("/quit");
    expect(await again.exitCode()).toBe(0);
    expect(count(again.stdout, "[10] alice: welcome back")).toBe(1);
    expect(again.stdout).not.toContain("while carol is out");
    expect(again.stderr).toBe("");
  });

  it("keeps a direct chat to its own commands", async () => {
    const alice = cli("chat", "alice", "bob", "--device", "laptop");
    await alice.waitFor(/-- connected/);
    alice.writeLine("/invite carol");
    await alice.waitFor(/^! \/invite works in groups only$/m);
    alice.writeLine("/quit");
    expect(await alice.exitCode()).toBe(0);
  });

  // Last: it replaces the system.
  it("does not resume the state of another deployment behind the same address", async () => {
    const old = savedState("alice@laptop");
    expect(Object.keys(old.cursors).length).toBeGreaterThan(0);
    // A new deployment on the same port (as `npm start` after deleting ./data): the same usernames, other accounts.
    const port = sys.grpcPort;
    await sys.stop();
    sys = await spawnSystem({ GRPC_PORT: String(port) });
    const regs = [cli("register", "alice"), cli("register", "bob")];
    expect(await Promise.all(regs.map((r) => r.exitCode()))).toEqual([0, 0]);
    const aliceId = /^registered alice \(id (\S+)\)$/m.exec(regs[0]!.stdout)?.[1];

    const alice = cli("chat", "alice", "bob", "--device", "laptop");
    await alice.waitFor(/-- connected; chatting with bob/);
    alice.writeLine("a new start");
    await alice.waitFor(/^\[1\] me: a new start ✓$/m);
    alice.writeLine("/quit");
    expect(await alice.exitCode()).toBe(0);
    expect(alice.stderr).toBe(
      `messenger: the resume state in ${join(home, "alice@laptop.resume.json")} belongs to account ${old.userId}, another deployment or a re-created account, not to alice (${aliceId}) here; starting without it\n`,
    );
    const saved = savedState("alice@laptop");
    expect(saved.userId).toBe(aliceId);
    // Only the new conversation: nothing of the old deployment was carried over.
    expect(Object.values(saved.cursors)).toEqual(["1"]);
    for (const id of Object.keys(old.cursors)) expect(saved.cursors).not.toHaveProperty(id);
  });
});
