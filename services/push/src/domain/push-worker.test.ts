import { describe, expect, it } from "vitest";
import type { PushCandidate } from "./push-candidate.js";
import type { PushNotification, PushProvider, PushRegistration, PushTargets, SendOutcome } from "./push-ports.js";
import { createPushWorker, defaultPushWorkerSettings, RetryLaterError, type PushEvents } from "./push-worker.js";
import { createMemorySentMarks } from "./sent-marks.js";

const web = (n: string): PushRegistration => ({ kind: "web_push", endpoint: `https://push.example/${n}`, p256dh: "p", auth: "a" });
const apns: PushRegistration = { kind: "apns", token: "ab".repeat(32), environment: "production" };

const candidate = (over: Partial<PushCandidate> = {}): PushCandidate => ({
  kind: "message",
  userId: "u_bob",
  conversationId: "dm_1",
  messageId: "m_7",
  seq: 7n,
  senderUserId: "u_alice",
  liveDeviceIds: [],
  storedAtMs: 1_000,
  ...over,
});

/** A provider that answers from a script (then "accepted") and records what it was asked. */
function scripted(kind: PushRegistration["kind"], script: SendOutcome[] = []) {
  const sent: { registration: PushRegistration; n: PushNotification }[] = [];
  const provider: PushProvider = {
    kind,
    async send(registration, n) {
      sent.push({ registration, n });
      return script.shift() ?? { outcome: "accepted", status: 201 };
    },
    async close() {},
  };
  return { provider, sent };
}

function world(opts: { targets?: Partial<PushTargets>; delivered?: Record<string, bigint>; web?: SendOutcome[]; apns?: SendOutcome[] } = {}) {
  const targets: PushTargets = {
    devices: [
      { deviceId: "phone", registration: apns },
      { deviceId: "laptop", registration: web("laptop") },
    ],
    previews: false,
    doNotDisturb: false,
    muted: false,
    senderName: "alice",
    ...opts.targets,
  };
  const webP = scripted("web_push", opts.web);
  const apnsP = scripted("apns", opts.apns);
  const removed: string[] = [];
  const dead: string[] = [];
  const counts: Record<string, number> = {};
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const events: PushEvents = {
    sent: (p, visible) => bump(`sent:${p}:${visible ? "visible" : "silent"}`),
    failed: (p, r) => bump(`failed:${p}:${r}`),
    retried: (p, status) => bump(`retried:${p}:${status}`),
    skipped: (r) => bump(`skipped:${r}`),
    registrationRemoved: (p) => bump(`removed:${p}`),
    deadLettered: (r) => bump(`dead:${r}`),
  };
  const marks = createMemorySentMarks({ keepMs: 86_400_000 });
  const make = () =>
    createPushWorker({
      targets: { get: async () => targets, remove: async (_u, d) => void removed.push(d) },
      history: {
        context: async (_u, _c, _seq, ids, withPreview) => ({
          deliveredSeqs: new Map(ids.flatMap((id) => (opts.delivered?.[id] !== undefined ? [[id, opts.delivered[id]!] as const] : []))),
          unreadCount: 3,
          previewText: withPreview ? "hi bob" : undefined,
        }),
      },
      providers: new Map([
        ["web_push", webP.provider],
        ["apns", apnsP.provider],
      ]),
      marks,
      deadLetter: async (c, reason) => void dead.push(`${c.messageId}: ${reason}`),
      events,
      now: () => 1_250,
      random: () => 0.5,
    });
  return { worker: make(), second: make(), web: webP.sent, apns: apnsP.sent, removed, dead, counts };
}

describe("the push worker's decision per device", () => {
  it("pushes the devices that were not live and have not received it, content-free, with the badge and the conversation as collapse key", async () => {
    const w = world({ delivered: { laptop: 7n } });
    await w.worker.handle(candidate({ liveDeviceIds: [] }), 1);
    expect(w.web).toEqual([]);
    expect(w.apns.map((s) => s.n)).toEqual([
      { kind: "message", visible: true, conversationId: "dm_1", seq: 7n, messageId: "m_7", badge: 3, collapseKey: "dm_1", idempotencyKey: "u_bob:phone:message:m_7" },
    ]);
    expect(w.counts).toMatchObject({ "sent:apns:visible": 1, "skipped:delivered": 1 });
  });

  it("skips a device with a live session (the laptop) and still pushes the offline phone", async () => {
    const w = world();
    await w.worker.handle(candidate({ liveDeviceIds: ["laptop"] }), 1);
    expect(w.apns).toHaveLength(1);
    expect(w.web).toHaveLength(0);
    expect(w.counts["skipped:live"]).toBe(1);
  });

  it("sends a silent badge update when the conversation is muted or the user is in do-not-disturb, and a preview only when previews are on", async () => {
    for (const t of [{ muted: true }, { doNotDisturb: true }]) {
      const w = world({ targets: t });
      await w.worker.handle(candidate(), 1);
      expect(w.apns[0]!.n).toMatchObject({ visible: false, badge: 3 });
      expect(w.apns[0]!.n.preview).toBeUndefined();
    }
    const w = world({ targets: { previews: true } });
    await w.worker.handle(candidate(), 1);
    expect(w.apns[0]!.n.preview).toEqual({ senderName: "alice", text: "hi bob" });
  });
});

describe("the push worker's reliability", () => {
  it("gives a 503 back to the queue to come again no sooner than its Retry-After, then a 429 after a jittered backoff, and sends on the next delivery", async () => {
    const w = world({ apns: [{ outcome: "retry", status: 503, reason: "unavailable", retryAfterMs: 2_000 }, { outcome: "retry", status: 429, reason: "too many" }] });
    const c = candidate({ liveDeviceIds: ["laptop"] });
    const first = await w.worker.handle(c, 1).then(() => undefined, (e: unknown) => e);
    expect(first).toBeInstanceOf(RetryLaterError);
    expect((first as RetryLaterError).afterMs).toBe(2_000);
    const second = await w.worker.handle(c, 2).then(() => undefined, (e: unknown) => e);
    expect((second as RetryLaterError).afterMs).toBe(1_000);
    await w.worker.handle(c, 3);
    expect(w.apns).toHaveLength(3);
    expect(w.counts).toMatchObject({ "retried:apns:503": 1, "retried:apns:429": 1, "sent:apns:visible": 1 });
  });

  it("sends the devices that can be reached and gives back only the one whose provider said later", async () => {
    const w = world({ apns: [{ outcome: "retry", status: 503, reason: "unavailable" }] });
    await expect(w.worker.handle(candidate(), 1)).rejects.toBeInstanceOf(RetryLaterError);
    expect(w.web).toHaveLength(1);
    await w.worker.handle(candidate(), 2);
    expect(w.web).toHaveLength(1);
    expect(w.apns).toHaveLength(2);
    expect(w.counts).toMatchObject({ "sent:web_push:visible": 1, "sent:apns:visible": 1, "skipped:already_sent": 1 });
  });

  it("deletes a registration the provider says is gone (410), and never sends a rejected one again", async () => {
    const w = world({ apns: [{ outcome: "gone", status: 410, reason: "Unregistered" }], web: [{ outcome: "rejected", status: 400, reason: "bad" }] });
    await w.worker.handle(candidate(), 1);
    expect(w.removed).toEqual(["phone"]);
    await w.worker.handle(candidate(), 2);
    expect(w.apns).toHaveLength(1);
    expect(w.web).toHaveLength(1);
    expect(w.counts).toMatchObject({ "removed:apns": 1, "failed:web_push:rejected_400": 1, "skipped:already_sent": 2 });
  });

  it("sends each notification once when the queue delivers it again or two replicas take it at once", async () => {
    const w = world();
    await Promise.all([w.worker.handle(candidate(), 1), w.second.handle(candidate(), 1)]);
    await w.worker.handle(candidate(), 2);
    expect(w.apns).toHaveLength(1);
    expect(w.web).toHaveLength(1);
  });

  it("tells apart two users' devices that share a device id", async () => {
    const w = world();
    await w.worker.handle(candidate({ userId: "u_bob" }), 1);
    await w.worker.handle(candidate({ userId: "u_carol" }), 1);
    expect(w.apns).toHaveLength(2);
    expect(w.web).toHaveLength(2);
  });

  it("dead-letters a candidate delivered more than the limit, and acknowledges it", async () => {
    const w = world();
    await w.worker.handle(candidate(), defaultPushWorkerSettings.maxDeliveries + 1);
    expect(w.dead).toEqual([`m_7: not sent after ${defaultPushWorkerSettings.maxDeliveries} deliveries`]);
    expect(w.apns).toEqual([]);
    expect(w.counts["dead:max_deliveries"]).toBe(1);
  });
});
