import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createJetStreamQueue, offlineNotificationCodec, offlineStream, pushWorkerGroup } from "@messenger/bus";
import type { OfflineNotification } from "@messenger/proto/bus/v1/events";
import type { Message } from "@messenger/proto/chat/v1/types";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { eventually, startCluster, type LocalCluster } from "@messenger/testing";
import { connect } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { api, registerUsers, type Api, type ApiUser } from "../support/api-user.js";
import { RawMember } from "../support/raw-member.js";

// The session registry's watches apply every change 1.5 s late in every service: the router
// learns of a new session, or of one that ended, long after it happened. Deliveries must
// still reach the right session without loss, duplicates or reordering. (The delay stays
// below the registry's TTL of three 2 s heartbeats, as any working deployment's must: a
// gateway lease seen only after it lapsed counts for nothing.)
const mirrorDelayMs = 1_500;
let cluster: LocalCluster;
let a: Api;
const members: RawMember[] = [];
beforeAll(async () => {
  cluster = await startCluster({
    // The test reads the push candidates itself: no push worker takes them first.
    pushWorkers: 0,
    gateways: 2,
    env: { HEARTBEAT_INTERVAL_MS: "2000", SCRYPT_LOG_N: "12", LOG_LEVEL: "warn", SHUTDOWN_GRACE_MS: "2000", REGISTRY_MIRROR_DELAY_MS: String(mirrorDelayMs) },
  });
  a = api(cluster.gatewayUrls()[0]!);
}, 120_000);
afterEach(() => {
  for (const m of members.splice(0)) m.close();
});
afterAll(async () => {
  a?.close();
  await cluster?.stop();
}, 60_000);

async function device(u: ApiUser, gateway: number, deviceId = "raw"): Promise<RawMember> {
  const token = deviceId === "raw" ? u.token : await u.tokenFor(deviceId);
  const m = new RawMember(u.id, async () => token);
  members.push(m);
  await m.connect(cluster.gateways[gateway]!.grpcPort);
  return m;
}

async function send(m: RawMember, conversationId: string, text: string, clientMessageId = `${text}-${Math.random()}`): Promise<{ message: Message; duplicate: boolean }> {
  const r = await m.request({ frame: { case: "send", value: { conversationId, clientMessageId, body: { case: "text", value: text } } } }, (f) =>
    f.frame.case === "sendResult" && f.frame.value.clientMessageId === clientMessageId,
  );
  if (r.frame.case !== "sendResult" || !r.frame.value.message) throw new Error(`send refused: ${JSON.stringify(r.frame.value)}`);
  return { message: r.frame.value.message, duplicate: r.frame.value.duplicate };
}

describe("resume, whatever the session registry's propagation delay", () => {
  it("a device that resumes on another gateway while messages are sent gets each exactly once, in order, the last ones included", async () => {
    const [alice, bob] = await registerUsers(a, 2);
    const conv = (await a.history.openDirectConversation({ peerUserId: bob.id }, alice.auth)).conversation!;
    const sender = await device(alice, 1);
    const receiver = await device(bob, 0);
    const seqs: bigint[] = [];
    let sending = true;
    const traffic = (async () => {
      for (let i = 0; sending; i++) {
        seqs.push((await send(sender, conv.id, `m${i}`)).message.seq);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await eventually(() => seqs.length >= 10, "traffic flows");
    // Resume on the other gateway while alice keeps sending, then stop within the delay:
    // the last messages are stored after the resumed session registered, with nothing after
    // them to reveal a gap.
    receiver.close();
    await receiver.connect(cluster.gateways[1]!.grpcPort);
    await new Promise((r) => setTimeout(r, mirrorDelayMs / 3));
    sending = false;
    await traffic;
    expect(seqs.length).toBeGreaterThan(15);
    await eventually(() => receiver.audit(conv.id, seqs).lost === 0, "every message reaches bob", mirrorDelayMs * 4);
    expect(receiver.audit(conv.id, seqs)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  }, 60_000);

  it("a resend the store reports as a duplicate (stored, but never delivered) still reaches every member, and the offline ones get a notification", async () => {
    const [alice, bob, carol] = await registerUsers(a, 3);
    const conv = (await a.groups.createGroup({ title: "dups", memberUserIds: [bob.id, carol.id] }, alice.auth)).conversation!;
    const b = await device(bob, 1);
    const aliceDevice = await device(alice, 0, "phone");
    const nc = await connect({ servers: cluster.nats.url });
    const queue = await createJetStreamQueue(nc, offlineStream);
    const notes: OfflineNotification[] = [];
    await queue.consume(pushWorkerGroup, async (d) => void notes.push(offlineNotificationCodec.decode(d)));
    try {
      // A router stored alice's message and died before delivering it: store it the same way.
      const store = createClient(StoreService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${cluster.store.internalGrpcPort}` }));
      const stored = await store.appendMessages({
        items: [{ message: { conversationId: conv.id, clientMessageId: "lost-once", body: { case: "text", value: "stored, not delivered" } }, senderUserId: alice.id, senderDeviceId: "phone" }],
      });
      const seq = stored.results[0]!.message!.seq;
      // The device never got its ack, so it sends again with the same client message id.
      const again = await send(aliceDevice, conv.id, "stored, not delivered", "lost-once");
      expect([again.duplicate, again.message.seq]).toEqual([true, seq]);
      await eventually(() => b.ledger(conv.id).seqs.includes(seq), "bob gets the message live");
      expect(b.audit(conv.id, [seq])).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
      await eventually(() => notes.some((n) => n.userId === carol.id && n.seq === seq), "carol, offline, gets a notification");
    } finally {
      await queue.close();
      await nc.close();
    }
  }, 60_000);
});
