import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Message } from "@messenger/proto/chat/v1/types";
import { MessengerClient } from "@messenger/sdk";
import { codeOf, eventually } from "@messenger/testing";
import { collectMessages, newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { png } from "../support/media-files.js";

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let sys: TestSystem;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  // Runs happen when the test says; anything older than a millisecond may be archived, in segments of 10.
  sys = await startTestSystem({
    ARCHIVE_INTERVAL_MS: "0",
    ARCHIVE_AFTER_MS: "1",
    ARCHIVE_SEGMENT_MESSAGES: "10",
    RETENTION_SWEEP_INTERVAL_MS: "0",
    MEDIA_CLEANUP_INTERVAL_MS: "0",
    MEDIA_RESOLVE_GRACE_MS: "0",
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sys.dispose();
});

async function user(opts: { name?: string; deviceId?: string } = {}): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl, opts);
  clients.push(c);
  return c;
}

/** Every .seg file of the archive folder, by name. */
function segmentFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith(".seg")) out.push(join(dir, e.name));
    }
  };
  try {
    walk(join(sys.dataDir, "archive"));
  } catch {
    // No folder yet: nothing archived.
  }
  return out.sort();
}

/** Every page of the conversation, of `size`, walked from the newest back and from the oldest forward. */
async function allPages(c: MessengerClient, conversationId: string, size: number): Promise<{ backward: Message[][]; forward: Message[][] }> {
  const backward: Message[][] = [];
  for (let anchor = 0n; ; ) {
    const page = await c.listMessages(conversationId, { anchorSeq: anchor, direction: "backward", pageSize: size });
    backward.push(page.messages);
    if (!page.hasMore) break;
    anchor = page.messages[0]!.seq;
  }
  const forward: Message[][] = [];
  for (let anchor = 0n; ; ) {
    const page = await c.listMessages(conversationId, { anchorSeq: anchor, direction: "forward", pageSize: size });
    forward.push(page.messages);
    if (!page.hasMore) break;
    anchor = page.messages.at(-1)!.seq;
  }
  return { backward, forward };
}

async function conversationWith(n: number): Promise<{ alice: MessengerClient; bob: MessengerClient; id: string; sent: Message[] }> {
  const alice = await user();
  const bob = await user();
  await Promise.all([alice.connect(), bob.connect()]);
  const conv = await alice.openDirect(bob.user!.id);
  const sent: Message[] = [];
  for (let i = 1; i <= n; i++) sent.push(await alice.send(conv.id, `message ${i}`));
  return { alice, bob, id: conv.id, sent };
}

describe("archived history", () => {
  it("npm run archive moves old history now, with progress, while the system runs; reads are the same after", { timeout: 60_000 }, async () => {
    const { bob, id } = await conversationWith(23);
    const before = await allPages(bob, id, 5);
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "scripts/archive.ts", "--data-dir", sys.dataDir, "--older-than", "0s", "--segment", "10"], {
      cwd: repoRoot,
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !["DATA_DIR", "MINIO_ENDPOINT", "MONGODB_URI"].includes(k))),
    });
    expect(stderr).toBe("");
    expect(stdout).toMatch(new RegExp(`^  ${id} 1\\.\\.10: 10 messages, [\\d.]+ KiB`, "m"));
    expect(stdout).toMatch(new RegExp(`^  ${id} 11\\.\\.20: 10 messages`, "m"));
    expect(stdout).not.toMatch(new RegExp(`${id} 21\\.\\.`));
    expect(stdout).toMatch(/^archive: \d+ segments, \d+ messages, [\d.]+ MiB in [\d.]+ s$/m);
    expect(await allPages(bob, id, 5)).toEqual(before);
    expect((await bob.listMessages(id, { direction: "forward", pageSize: 3 })).messages.map((m) => Number(m.seq))).toEqual([1, 2, 3]);
  });

  it("reads the same pages and syncs the same messages before and after its old messages move to the blob store", { timeout: 60_000 }, async () => {
    const existing = new Set(segmentFiles());
    const alice = await user();
    const bobName = `bob${Date.now().toString(36)}arch`;
    const bob = await user({ name: bobName, deviceId: "phone" });
    // The laptop saw nothing yet: after the archive it resumes from seq 0.
    const laptopEarly = await user({ name: bobName, deviceId: "laptop" });
    await laptopEarly.connect();
    const laptopResume = laptopEarly.resumeState();
    await laptopEarly.close();
    await Promise.all([alice.connect(), bob.connect()]);

    const conv = await alice.openDirect(bob.user!.id);
    for (let i = 1; i <= 23; i++) await alice.send(conv.id, `message ${i}`);
    const image = await alice.sendImage(conv.id, { bytes: await png(20, 10), fileName: "kept.png" });
    const reply = await bob.sendMessage(conv.id, { case: "text", value: "a reply to 3" }, { replyToSeq: 3n });
    for (let i = 26; i <= 37; i++) await alice.send(conv.id, `message ${i}`);
    const before = await allPages(bob, conv.id, 7);
    expect(before.forward.flat().map((m) => Number(m.seq))).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));

    const run = await sys.store.archiveNow(Date.now() + 1_000);
    expect(run).toMatchObject({ segments: 3, messages: 30, conflicts: 0, more: false });
    expect(segmentFiles().filter((f) => !existing.has(f))).toHaveLength(3);
    expect((await sys.store.archiveNow(Date.now() + 1_000)).segments).toBe(0);

    expect(await allPages(bob, conv.id, 7)).toEqual(before);
    expect(await allPages(alice, conv.id, 50)).toEqual(await allPages(bob, conv.id, 50));
    expect((await bob.listMessages(conv.id, { anchorSeq: 26n, direction: "backward", pageSize: 2 })).messages).toEqual([image, reply]);
    // The archived image stays downloadable: its message still references it.
    expect(image.body.case).toBe("media");
    const mediaId = image.body.case === "media" ? image.body.value.mediaId : "";
    expect(await codeOf(bob.media.downloadLink(mediaId))).toBe("OK");
    expect(await sys.media.cleanup()).toMatchObject({ unreferenced: 0 });

    // A device back after the archive gets every message, in order, once.
    const laptop = new MessengerClient({ url: sys.grpcUrl, deviceId: "laptop", resume: laptopResume, reconnectBaseMs: 50, reconnectMaxMs: 500, gapWaitMs: 100 });
    clients.push(laptop);
    const got = collectMessages(laptop);
    await laptop.login(bobName, "correct horse battery");
    await laptop.connect();
    await eventually(() => got.length >= 37, "the laptop gets all 37");
    expect(got.map((m) => Number(m.seq))).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
    expect(got).toEqual(before.forward.flat());
  });

  it("deletes archived messages too when retention says they are gone: history, segments and blobs", { timeout: 60_000 }, async () => {
    const { alice, bob, id } = await conversationWith(24);
    const photo = await alice.sendImage(id, { bytes: await png(16, 16), fileName: "gone.png" });
    expect((await sys.store.archiveNow(Date.now() + 1_000)).segments).toBe(2);
    const segmentsBefore = segmentFiles().length;

    await bob.setRetention(id, { mode: "disappearing", ttlSeconds: 3600 });
    const swept = await sys.store.sweepRetention(Date.now() + 3_601_000);
    expect(swept.byMode.disappearing).toBe(26);
    expect(swept.archive).toMatchObject({ dropped: 2, rewritten: 0, blobsDeleted: 2 });
    expect(segmentFiles()).toHaveLength(segmentsBefore - 2);
    const page = await bob.listMessages(id);
    expect([page.messages, page.minSeq]).toEqual([[], 27n]);
    expect(await sys.media.cleanup()).toMatchObject({ unreferenced: 1 });
    const mediaId = photo.body.case === "media" ? photo.body.value.mediaId : "";
    expect(await codeOf(alice.media.downloadLink(mediaId))).toBe("NotFound");
  });

  it("refuses a read of a corrupt or missing segment with DATA_LOSS naming the seqs, never a wrong page; the live messages stay readable", { timeout: 60_000 }, async () => {
    const before = new Set(segmentFiles());
    const { bob, id } = await conversationWith(25);
    expect((await sys.store.archiveNow(Date.now() + 1_000)).segments).toBe(2);
    const [first, second] = segmentFiles().filter((f) => !before.has(f));
    const bytes = readFileSync(first!);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(first!, bytes);
    rmSync(second!);

    const oldest = bob.listMessages(id, { direction: "forward", pageSize: 5 });
    expect(await codeOf(oldest)).toBe("DataLoss");
    await expect(oldest).rejects.toThrow(/messages 1 to 10 of this conversation are archived and cannot be read back intact \(checksum\)/);
    await expect(bob.listMessages(id, { anchorSeq: 11n, direction: "forward", pageSize: 5 })).rejects.toThrow(/messages 11 to 20 .* \(missing\)/);
    expect((await bob.listMessages(id, { pageSize: 5 })).messages.map((m) => Number(m.seq))).toEqual([21, 22, 23, 24, 25]);
  });
});
