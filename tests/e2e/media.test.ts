import { existsSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "@messenger/proto/chat/v1/types";
import { MediaVariant } from "@messenger/proto/media/v1/media_service";
import type { MessengerClient } from "@messenger/sdk";
import { codeOf, eventually } from "@messenger/testing";
import { collectMessages, newUser, startTestSystem, type TestSystem } from "@messenger/test-system";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, registerUsers, type Api, type ApiUser } from "../support/api-user.js";
import { elfBytes, jpegWithGps, pixelBomb, png, sha256, truncatedJpeg } from "../support/media-files.js";

let sys: TestSystem;
let gw: Api;
const clients: MessengerClient[] = [];

beforeAll(async () => {
  sys = await startTestSystem({ MEDIA_CLEANUP_INTERVAL_MS: "0" });
  gw = api(sys.grpcUrl);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  gw.close();
  await sys.dispose();
});

async function user(): Promise<MessengerClient> {
  const c = await newUser(sys.grpcUrl);
  clients.push(c);
  return c;
}

/** The media of a message, or a failure naming what came instead. */
function mediaOf(m: Message | undefined) {
  if (m?.body.case !== "media") throw new Error(`expected a media message, got ${m?.body.case}`);
  return m.body.value;
}

/** CreateUpload, PUT the bytes to the signed URL, CompleteUpload: what a client does, step by step. */
async function uploadRaw(
  who: ApiUser,
  conversationId: string,
  bytes: Uint8Array,
  opts: { fileName?: string; mimeType?: string; declaredSize?: number; declaredSha?: Uint8Array; complete?: boolean } = {},
) {
  const created = await gw.media.createUpload(
    {
      conversationId,
      fileName: opts.fileName ?? "file.bin",
      mimeType: opts.mimeType ?? "application/octet-stream",
      sizeBytes: BigInt(opts.declaredSize ?? bytes.length),
      sha256: opts.declaredSha ?? sha256(bytes),
    },
    who.auth,
  );
  const headers = Object.fromEntries(created.uploadHeaders.map((h) => [h.name, h.value]));
  const put = await fetch(created.uploadUrl, { method: created.uploadMethod, headers, body: bytes });
  const completed = opts.complete === false ? undefined : gw.media.completeUpload({ mediaId: created.mediaId }, who.auth);
  return { mediaId: created.mediaId, put: put.status, completed };
}

async function download(who: ApiUser, mediaId: string, variant = MediaVariant.ORIGINAL) {
  const link = await gw.media.getDownloadUrl({ mediaId, variant }, who.auth);
  const res = await fetch(link.url);
  return { link, res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

describe("images end to end (one process)", () => {
  it("upload → complete → send → the recipient gets the reference and downloads a clean original and a thumbnail", async () => {
    const alice = await user();
    const bob = await user();
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const photo = await jpegWithGps(1280, 960);
    expect((await sharp(photo).metadata()).exif?.length ?? 0).toBeGreaterThan(0);
    const progress: number[] = [];
    const sent = await alice.sendImage(conv.id, { bytes: photo, fileName: "IMG_0001.jpg" }, { onProgress: (p) => progress.push(p.sentBytes) });
    expect(progress.at(-1)).toBe(photo.length);

    await eventually(() => bobGot.length === 1, "bob receives the image message");
    const ref = mediaOf(bobGot[0]);
    expect(bobGot[0]!.id).toBe(sent.id);
    expect(ref).toMatchObject({ mimeType: "image/jpeg", width: 1280, height: 960, fileName: "IMG_0001.jpg" });
    expect(ref.thumbnail.length).toBeGreaterThan(0);
    expect(ref.thumbnail.length).toBeLessThanOrEqual(8192);
    expect((await sharp(ref.thumbnail).metadata()).format).toBe("webp");

    const original = await bob.media.download(ref.mediaId);
    expect(original.mimeType).toBe("image/jpeg");
    const meta = await sharp(original.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 1280, 960]);
    // The GPS position (and every other metadata block) is gone from what is stored.
    expect([meta.exif, meta.xmp, meta.iptc]).toEqual([undefined, undefined, undefined]);
    expect(original.bytes.length).toBe(Number(ref.sizeBytes));
    // Everyone who may see it gets the same bytes.
    expect(Buffer.from((await alice.media.download(ref.mediaId)).bytes).equals(Buffer.from(original.bytes))).toBe(true);

    const thumb = await bob.media.download(ref.mediaId, "thumbnail");
    const t = await sharp(thumb.bytes).metadata();
    expect(t.format).toBe("webp");
    expect(Math.max(t.width, t.height)).toBe(320);
    expect(t.width / t.height).toBeCloseTo(1280 / 960, 1);
    // History carries the same reference.
    const page = await bob.listMessages(conv.id);
    expect(mediaOf(page.messages.at(-1))).toEqual(ref);
  });

  it("a file goes byte for byte, as an attachment", async () => {
    const [a, b] = await registerUsers(gw, 2);
    const conv = (await gw.history.openDirectConversation({ peerUserId: b!.id }, a!.auth)).conversation!;
    const bytes = new TextEncoder().encode("%PDF-1.4\n%âãÏÓ\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    const up = await uploadRaw(a!, conv.id, bytes, { fileName: "../../etc/report.pdf", mimeType: "application/pdf" });
    const ref = (await up.completed!).media!;
    expect(ref).toMatchObject({ mimeType: "application/pdf", width: 0, height: 0, fileName: "report.pdf", sizeBytes: BigInt(bytes.length) });
    expect(ref.thumbnail.length).toBe(0);
    const got = await download(a!, ref.mediaId);
    expect(got.res.status).toBe(200);
    expect(Buffer.from(got.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(got.res.headers.get("content-disposition")).toContain("attachment");
    expect(got.res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await codeOf(gw.media.getDownloadUrl({ mediaId: ref.mediaId, variant: MediaVariant.THUMBNAIL }, a!.auth))).toBe("NotFound");
  });
});

describe("who may download", () => {
  it("a stranger and a guessed id get the same NOT_FOUND; a group member removed before the message cannot download it", async () => {
    const [owner, member, leaver, stranger] = await registerUsers(gw, 4);
    const group = (await gw.groups.createGroup({ title: "photos", memberUserIds: [member!.id, leaver!.id] }, owner!.auth)).conversation!;
    const before = await uploadRaw(owner!, group.id, await png(40, 30), { fileName: "before.png", mimeType: "image/png" });
    const beforeRef = (await before.completed!).media!;
    const sendAs = async (who: ApiUser, media: typeof beforeRef): Promise<void> => {
      const sdk = await newUser(sys.grpcUrl, { name: who.username });
      clients.push(sdk);
      await sdk.connect();
      await sdk.sendMessage(group.id, { case: "media", value: media });
    };
    await sendAs(owner!, beforeRef);
    await gw.groups.removeMember({ conversationId: group.id, userId: leaver!.id }, owner!.auth);
    const after = await uploadRaw(owner!, group.id, await png(50, 20), { fileName: "after.png", mimeType: "image/png" });
    const afterRef = (await after.completed!).media!;
    await sendAs(owner!, afterRef);

    const status = async (who: ApiUser, mediaId: string): Promise<string> => {
      try {
        await gw.media.getDownloadUrl({ mediaId }, who.auth);
        return "OK";
      } catch (err) {
        const e = ConnectError.from(err);
        return `${Code[e.code]}: ${e.rawMessage}`;
      }
    };
    expect(await status(member!, afterRef.mediaId)).toBe("OK");
    expect(await status(member!, beforeRef.mediaId)).toBe("OK");
    // The removed member keeps what was shared while they were in (like the history they may read), not what came after.
    expect(await status(leaver!, beforeRef.mediaId)).toBe("OK");
    const notFound = await status(stranger!, afterRef.mediaId);
    expect(notFound).toMatch(/^NotFound: /);
    expect(await status(leaver!, afterRef.mediaId)).toBe(notFound);
    expect(await status(member!, `m_${"0".repeat(32)}`)).toBe(notFound);
    // Completed but not yet sent: only the uploader.
    const unsent = await uploadRaw(owner!, group.id, await png(10, 10), { fileName: "draft.png", mimeType: "image/png" });
    const unsentRef = (await unsent.completed!).media!;
    expect(await status(owner!, unsentRef.mediaId)).toBe("OK");
    expect(await status(member!, unsentRef.mediaId)).toBe(notFound);
  });

  it("only a member may upload into a conversation", async () => {
    const [a, b, c] = await registerUsers(gw, 3);
    const conv = (await gw.history.openDirectConversation({ peerUserId: b!.id }, a!.auth)).conversation!;
    const bytes = await png();
    const call = gw.media.createUpload({ conversationId: conv.id, fileName: "x.png", mimeType: "image/png", sizeBytes: BigInt(bytes.length), sha256: sha256(bytes) }, c!.auth);
    expect(await codeOf(call)).toBe("PermissionDenied");
    expect(await codeOf(gw.media.createUpload({ conversationId: conv.id, fileName: "x.png", mimeType: "image/png", sizeBytes: 10n, sha256: sha256(bytes) }, { headers: { authorization: "Bearer nope" } }))).toBe("Unauthenticated");
  });
});

describe("what an upload must be", () => {
  let a: ApiUser;
  let conv: string;
  beforeAll(async () => {
    const [x, y] = await registerUsers(gw, 2);
    a = x!;
    conv = (await gw.history.openDirectConversation({ peerUserId: y!.id }, a.auth)).conversation!.id;
  });

  it("refuses bytes that differ from the declared sha256 and keeps nothing", async () => {
    const bytes = await png();
    const up = await uploadRaw(a, conv, bytes, { mimeType: "image/png", declaredSha: sha256(new Uint8Array([1, 2, 3])) });
    expect(up.put).toBe(200);
    expect(await codeOf(up.completed!)).toBe("InvalidArgument");
    expect(await codeOf(gw.media.completeUpload({ mediaId: up.mediaId }, a.auth))).toBe("FailedPrecondition");
  });

  it("refuses a PUT of another size than declared, so completing finds nothing", async () => {
    const bytes = await png();
    const up = await uploadRaw(a, conv, bytes, { mimeType: "image/png", declaredSize: bytes.length + 10, complete: false });
    expect(up.put).toBeGreaterThanOrEqual(400);
    expect(await codeOf(gw.media.completeUpload({ mediaId: up.mediaId }, a.auth))).toBe("FailedPrecondition");
  });

  it("sniffs the real type: a PNG named .jpg is a PNG, a program named .png is a plain file", async () => {
    const renamed = await uploadRaw(a, conv, await png(30, 20), { fileName: "holiday.jpg", mimeType: "image/jpeg" });
    expect((await renamed.completed!).media).toMatchObject({ mimeType: "image/png", width: 30, height: 20 });
    const program = await uploadRaw(a, conv, elfBytes(), { fileName: "cute-cat.png", mimeType: "image/png" });
    const ref = (await program.completed!).media!;
    expect(ref).toMatchObject({ mimeType: "application/octet-stream", width: 0, height: 0, fileName: "cute-cat.png" });
    expect(ref.thumbnail.length).toBe(0);
    const got = await download(a, ref.mediaId);
    expect(got.res.headers.get("content-type")).toBe("application/octet-stream");
    expect(got.res.headers.get("content-disposition")).toContain("attachment");
  });

  it("refuses a decompression bomb and a truncated JPEG with INVALID_ARGUMENT, and keeps serving", async () => {
    const bomb = await uploadRaw(a, conv, pixelBomb(), { fileName: "bomb.png", mimeType: "image/png" });
    await expect(bomb.completed!).rejects.toMatchObject({ code: Code.InvalidArgument });
    const cut = await uploadRaw(a, conv, await truncatedJpeg(), { fileName: "cut.jpg", mimeType: "image/jpeg" });
    await expect(cut.completed!).rejects.toMatchObject({ code: Code.InvalidArgument });
    const fine = await uploadRaw(a, conv, await png(), { fileName: "fine.png", mimeType: "image/png" });
    expect((await fine.completed!).media?.mimeType).toBe("image/png");
  });

  it("completing twice answers the same reference; completing someone else's upload is NOT_FOUND", async () => {
    const up = await uploadRaw(a, conv, await png(), { fileName: "twice.png", mimeType: "image/png" });
    const first = (await up.completed!).media!;
    expect((await gw.media.completeUpload({ mediaId: up.mediaId }, a.auth)).media).toEqual(first);
    const [other] = await registerUsers(gw, 1);
    expect(await codeOf(gw.media.completeUpload({ mediaId: up.mediaId }, other!.auth))).toBe("NotFound");
  });
});

describe("sending a media reference", () => {
  it("stores what the media service vouches for, and refuses unknown, incomplete and foreign uploads", async () => {
    const alice = await user();
    const bob = await user();
    const carol = await user();
    await alice.connect();
    const conv = await alice.openDirect(bob.user!.id);
    const other = await alice.openDirect(carol.user!.id);
    const up = await alice.media.upload(conv.id, { bytes: await png(16, 8), fileName: "p.png" });
    // What a client claims is replaced by what the server found.
    const stored = await alice.sendMessage(conv.id, { case: "media", value: { ...up, width: 9999, mimeType: "image/gif", fileName: "evil.exe" } });
    expect(mediaOf(stored)).toMatchObject({ mediaId: up.mediaId, width: 16, height: 8, mimeType: "image/png", fileName: "p.png" });

    const refused = async (media: { mediaId: string }, conversationId = conv.id): Promise<string> => {
      try {
        await alice.sendMessage(conversationId, { case: "media", value: media });
        return "OK";
      } catch (err) {
        return Code[ConnectError.from(err).code];
      }
    };
    expect(await refused({ mediaId: `m_${"f".repeat(32)}` })).toBe("NotFound");
    expect(await refused(up, other.id)).toBe("FailedPrecondition");
    const login = await gw.accounts.login({ username: alice.user!.username, password: "correct horse battery", deviceId: "raw" });
    const asAlice = { headers: { authorization: `Bearer ${login.tokens!.accessToken}` } };
    const pending = await gw.media.createUpload({ conversationId: conv.id, fileName: "later.png", mimeType: "image/png", sizeBytes: 10n, sha256: sha256(new Uint8Array(10)) }, asAlice);
    expect(await refused({ mediaId: pending.mediaId })).toBe("FailedPrecondition");
    // Bob cannot send alice's upload either.
    await bob.connect();
    await expect(bob.sendMessage(conv.id, { case: "media", value: up })).rejects.toMatchObject({ code: Code.NotFound });
  });
});

describe("limits", () => {
  let small: TestSystem;
  let sgw: Api;
  beforeAll(async () => {
    small = await startTestSystem({ MEDIA_MAX_IMAGE_BYTES: "100000", MEDIA_MAX_FILE_BYTES: "200000", MEDIA_DAILY_QUOTA_BYTES: "300000", MEDIA_CLEANUP_INTERVAL_MS: "0" });
    sgw = api(small.grpcUrl);
  });
  afterAll(async () => {
    sgw.close();
    await small.dispose();
  });

  it("refuses an upload over its kind's size or the daily quota before any byte is stored", async () => {
    const [a, b] = await registerUsers(sgw, 2);
    const conv = (await sgw.history.openDirectConversation({ peerUserId: b!.id }, a!.auth)).conversation!.id;
    const ask = (mimeType: string, size: number) =>
      sgw.media.createUpload({ conversationId: conv, fileName: "f", mimeType, sizeBytes: BigInt(size), sha256: new Uint8Array(32) }, a!.auth);
    expect(await codeOf(ask("image/jpeg", 100_001))).toBe("ResourceExhausted");
    expect(await codeOf(ask("application/zip", 200_001))).toBe("ResourceExhausted");
    // The refused ones reserved nothing: two 150 KB uploads still fit the 300 KB quota, a third byte does not.
    expect(await codeOf(ask("application/zip", 150_000))).toBe("OK");
    expect(await codeOf(ask("application/zip", 150_000))).toBe("OK");
    const over = ask("image/png", 1_000);
    await expect(over).rejects.toThrow(/quota/);
    expect(await codeOf(ask("image/png", 1_000))).toBe("ResourceExhausted");
  });
});

describe("cleanup", () => {
  let sys2: TestSystem;
  let g2: Api;
  beforeAll(async () => {
    sys2 = await startTestSystem({
      MEDIA_CLEANUP_INTERVAL_MS: "0",
      MEDIA_UPLOAD_URL_TTL_SECONDS: "1",
      MEDIA_ABANDONED_AFTER_MS: "0",
      MEDIA_UNREFERENCED_AFTER_MS: "0",
      MEDIA_RESOLVE_GRACE_MS: "0",
    });
    g2 = api(sys2.grpcUrl);
  });
  afterAll(async () => {
    g2.close();
    await sys2.dispose();
  });

  it("deletes an abandoned upload and a completed one never sent, and keeps a sent one", async () => {
    const [a, b] = await registerUsers(g2, 2);
    const conv = (await g2.history.openDirectConversation({ peerUserId: b!.id }, a!.auth)).conversation!.id;
    const put = async (name: string, complete: boolean) => {
      const bytes = await png(20, 20);
      const c = await g2.media.createUpload({ conversationId: conv, fileName: name, mimeType: "image/png", sizeBytes: BigInt(bytes.length), sha256: sha256(bytes) }, a!.auth);
      expect((await fetch(c.uploadUrl, { method: "PUT", headers: Object.fromEntries(c.uploadHeaders.map((h) => [h.name, h.value])), body: bytes })).status).toBe(200);
      return complete ? (await g2.media.completeUpload({ mediaId: c.mediaId }, a!.auth)).media! : { mediaId: c.mediaId };
    };
    const abandoned = await put("abandoned.png", false);
    const unsent = await put("unsent.png", true);
    const sent = await put("sent.png", true);
    const sdk = await newUser(sys2.grpcUrl, { name: a!.username });
    await sdk.connect();
    await sdk.sendMessage(conv, { case: "media", value: sent });
    await sdk.close();
    const blobs = join(sys2.dataDir, "media", "blobs");
    const exists = (key: string): boolean => existsSync(join(blobs, key));
    expect(exists(`uploads/${abandoned.mediaId}`)).toBe(true);

    // The abandoned upload goes once its URL has expired (1 s): the clock, not a sleep, decides.
    let deleted = { abandoned: 0, unreferenced: 0 };
    await eventually(async () => {
      const r = await sys2.media.cleanup();
      deleted = { abandoned: deleted.abandoned + r.abandoned, unreferenced: deleted.unreferenced + r.unreferenced };
      return deleted.abandoned === 1;
    }, "the abandoned upload is cleaned up", 10_000);
    expect(deleted.unreferenced).toBe(1);
    expect(exists(`uploads/${abandoned.mediaId}`)).toBe(false);
    expect(exists(`media/${unsent.mediaId}/original`)).toBe(false);
    expect(exists(`media/${unsent.mediaId}/thumbnail`)).toBe(false);
    expect(exists(`media/${sent.mediaId}/original`)).toBe(true);
    expect(await codeOf(g2.media.getDownloadUrl({ mediaId: unsent.mediaId }, a!.auth))).toBe("NotFound");
    expect(await codeOf(g2.media.getDownloadUrl({ mediaId: sent.mediaId }, b!.auth))).toBe("OK");
    expect(await sys2.media.cleanup()).toEqual({ abandoned: 0, unreferenced: 0 });
  });
});
