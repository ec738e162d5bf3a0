import { MessengerClient } from "@messenger/sdk";
import { eventually, startCluster, type LocalCluster } from "@messenger/testing";
import { collectMessages, newUser } from "@messenger/test-system";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jpegWithGps } from "../support/media-files.js";

let cluster: LocalCluster;
const clients: MessengerClient[] = [];
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2, env: { SCRYPT_LOG_N: "12", LOG_LEVEL: "warn", SHUTDOWN_GRACE_MS: "2000" } });
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cluster?.stop();
}, 60_000);

/** A signed-in user whose client knows only gateway `i`. */
async function userOn(i: number): Promise<MessengerClient> {
  const c = await newUser(cluster.gatewayUrls()[i]!);
  clients.push(c);
  return c;
}

describe("media in the cluster (media service in its own process)", () => {
  it("an image sent through gateway 1 reaches a user on gateway 2, who downloads the original and the thumbnail straight from the blob store", { timeout: 60_000 }, async () => {
    const alice = await userOn(0);
    const bob = await userOn(1);
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const photo = await jpegWithGps(800, 600);
    await alice.sendImage(conv.id, { bytes: photo, fileName: "street.jpg" });
    await eventually(() => bobGot.length === 1, "bob receives the image on the other gateway");
    const ref = bobGot[0]!.body.case === "media" ? bobGot[0]!.body.value : undefined;
    expect(ref).toMatchObject({ mimeType: "image/jpeg", width: 800, height: 600, fileName: "street.jpg" });

    // The URL is the media service's own HTTP port: the bytes pass through no gateway.
    const link = await bob.media.downloadLink(ref!.mediaId);
    const port = Number(new URL(link.url).port);
    expect(port).toBe(cluster.media.httpPort);
    expect(cluster.gateways.flatMap((g) => [g.grpcPort, g.httpPort])).not.toContain(port);

    const original = await bob.media.download(ref!.mediaId);
    const meta = await sharp(original.bytes).metadata();
    expect([meta.width, meta.height, meta.exif]).toEqual([800, 600, undefined]);
    expect(Buffer.from((await alice.media.download(ref!.mediaId)).bytes).equals(Buffer.from(original.bytes))).toBe(true);
    const thumb = await sharp((await bob.media.download(ref!.mediaId, "thumbnail")).bytes).metadata();
    expect([thumb.format, thumb.width, thumb.height]).toEqual(["webp", 320, 240]);

    // The media and their records live in the media service's data directory: a restart keeps them.
    await cluster.media.stop();
    await cluster.media.restart();
    await eventually(async () => (await bob.media.download(ref!.mediaId).then(() => true, () => false)), "the media service answers again");
    expect(Buffer.from((await bob.media.download(ref!.mediaId)).bytes).equals(Buffer.from(original.bytes))).toBe(true);
  });

  it("a file goes byte for byte between gateways", { timeout: 30_000 }, async () => {
    const alice = await userOn(1);
    const bob = await userOn(0);
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const bobGot = collectMessages(bob);
    const bytes = new TextEncoder().encode("name,amount\nalice,3\nbob,4\n".repeat(2000));
    await alice.sendFile(conv.id, { bytes, fileName: "ledger.csv" });
    await eventually(() => bobGot.length === 1, "bob receives the file");
    const ref = bobGot[0]!.body.case === "media" ? bobGot[0]!.body.value : undefined;
    expect(ref).toMatchObject({ fileName: "ledger.csv", width: 0, sizeBytes: BigInt(bytes.length) });
    expect(Buffer.from((await bob.media.download(ref!.mediaId)).bytes).equals(Buffer.from(bytes))).toBe(true);
  });

  it("while the media service is down, text still flows; a media send waits and is stored, in order, once it is back", { timeout: 60_000 }, async () => {
    const alice = await userOn(0);
    const bob = await userOn(1);
    await Promise.all([alice.connect(), bob.connect()]);
    const conv = await alice.openDirect(bob.user!.id);
    const ref = await alice.media.upload(conv.id, { bytes: new TextEncoder().encode("minutes of the meeting\n"), fileName: "minutes.txt" });
    const bobGot = collectMessages(bob);
    const carol = await userOn(0);
    await carol.connect();
    const other = await carol.openDirect(bob.user!.id);
    const gw = cluster.gateways[0]!;
    const shedBefore = await gw.metric("messenger_gateway_sends_shed_total");
    await cluster.media.stop();
    const written = alice.stats.sendsWritten;
    const pending = alice.sendMessage(conv.id, { case: "media", value: ref });
    const after = alice.send(conv.id, "after the file");
    // Refused at least once (a resend went out), and the gateway did not take the router for down:
    await eventually(() => alice.stats.sendsWritten >= written + 3, "alice's media send is refused and repeated");
    await carol.send(other.id, "text while media is down");
    await eventually(() => bobGot.some((m) => m.conversationId === other.id), "carol's text arrives during the outage");
    expect(await gw.metric("messenger_gateway_sends_shed_total")).toBe(shedBefore);
    expect(await gw.metric("messenger_gateway_router_circuit_open")).toBe(0);
    expect(bobGot.filter((m) => m.conversationId === conv.id)).toEqual([]);
    await cluster.media.restart();
    const [file, text] = await Promise.all([pending, after]);
    expect(text.seq).toBe(file.seq + 1n);
    await eventually(() => bobGot.filter((m) => m.conversationId === conv.id).length === 2, "bob gets the file, then the text");
    expect(bobGot.filter((m) => m.conversationId === conv.id).map((m) => m.body.case)).toEqual(["media", "text"]);
  });
});
