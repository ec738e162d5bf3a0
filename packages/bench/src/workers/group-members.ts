// Load generator for the group scenario: member sessions of one group over raw gRPC streams
// (no SDK), one HTTP/2 connection each, pinging like a device (and, when asked, acking
// delivery every 8th message like chat-pairs). A few members of this process also send
// into the group. Every message frame received is counted; with latency
// tracking on, each member's send→receive latency is kept per message as that message's
// max and count here, and the coordinator merges them over all generator processes into
// send→LAST-member latencies (all processes read the same monotonic clock).
//
// Saturation is end-to-end flow controlled: a sender's message occupies a window slot until
// every member session of THIS process has received it, so the senders cannot outrun the
// fan-out and pile a backlog up in the servers (the sendResult alone comes back as soon as
// the message is stored, before it is delivered).
import type http2 from "node:http2";
import { connectH2, grpcFrame, RawByteSession } from "../raw-session.js";
import { responseField, scanFrame, scanMessage, scanSendResult, type ScannedFields } from "../wire.js";
import { serveWorker } from "../worker-host.js";
import { steadyRate } from "../steady-rate.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { SessionRequestSchema } from "@messenger/proto/gateway/v1/gateway_service";

interface Sender {
  member: Member;
  /** Messages whose window slot is still taken. */
  inFlight: number;
  /** Sends waiting for their sendResult. */
  awaitingResult: number;
}

interface Member {
  index: number;
  session: RawByteSession;
  lastAcked: number;
  /** The highest seq of the group received. */
  lastSeq: number;
  /** Closed by us: its end is not a failure. */
  closed: boolean;
  sender?: Sender;
}

const members: Member[] = [];
const connections: http2.ClientHttp2Session[] = [];
let senders: Sender[] = [];
let conversationId = "";
let ackEvery = 8;
let padding = "";
let workerTag = "w";
let pinger: NodeJS.Timeout | undefined;
let rateTimer: NodeJS.Timeout | undefined;
let mode: "idle" | "window" | "rate" = "idle";
let windowSize = 16;
/** A window slot frees when the send is stored (large groups: members get no message frames). */
let untilStored = false;
let nextId = 0;

// Cumulative since the group was chosen (`use`), for the drain check. sendErrors counts
// refused sends and sends answered as duplicates.
let sentOk = 0;
let sendErrors = 0;
let received = 0;
let receiptsReceived = 0;
let sessionsEnded = 0;
let frameErrors = 0;
// Counted in the measuring window only (`record` … `snapshot`).
let counting = false;
let windowDeliveries = 0;
let windowReceipts = 0;
let windowSignals = 0;
let windowStored = 0;
// Per-message latency (µs) over this process's members, for messages sent at/after `since`.
let trackSince = Number.POSITIVE_INFINITY;
const latency = new Map<string, { sentUs: number; minUs: number; maxUs: number; count: number }>();
// Send→sendResult (stored) times of the latency window's sends, µs.
const sentAt = new Map<string, number>();
let storedUs: number[] = [];
// Window slots: client message id → local member sessions that have yet to receive it.
const pending = new Map<string, { sender: Sender; remaining: number }>();

const nowUs = (): number => {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1000);
};
const scratch: ScannedFields = { clientMessageId: "", text: "", seq: 0, errorCode: 0, duplicate: false };

function send(s: Sender): void {
  // Unique for the process's life: a repeated id would be answered as a duplicate, not stored.
  const cid = `${workerTag}s${s.member.index}m${nextId++}`;
  s.inFlight++;
  s.awaitingResult++;
  if (mode === "window" && !untilStored) pending.set(cid, { sender: s, remaining: members.length - 1 });
  const at = nowUs();
  if (at >= trackSince) sentAt.set(cid, at);
  s.member.session.send({ frame: { case: "send", value: { clientMessageId: cid, conversationId, body: { case: "text", value: `${at}|${padding}` } } } });
}

function pump(s: Sender): void {
  while (mode === "window" && s.inFlight < windowSize) send(s);
}

function release(cid: string): void {
  const p = pending.get(cid);
  if (!p) return;
  pending.delete(cid);
  p.sender.inFlight--;
  pump(p.sender);
}

function onFrame(m: Member, bytes: Buffer): void {
  const { field, start, end } = scanFrame(bytes);
  switch (field) {
    case responseField.message: {
      const f = scanMessage(bytes, start, end, scratch);
      if (f.clientMessageId === "" || f.text === "") return; // a system event (group created)
      const at = nowUs();
      received++;
      if (counting) windowDeliveries++;
      if (f.seq > m.lastSeq) m.lastSeq = f.seq;
      const sentUs = Number(f.text.slice(0, f.text.indexOf("|")));
      if (sentUs >= trackSince) {
        const lat = at - sentUs;
        const e = latency.get(f.clientMessageId);
        if (e) {
          e.count++;
          if (lat > e.maxUs) e.maxUs = lat;
          if (lat < e.minUs) e.minUs = lat;
        } else latency.set(f.clientMessageId, { sentUs, minUs: lat, maxUs: lat, count: 1 });
      }
      const p = pending.get(f.clientMessageId);
      if (p && --p.remaining <= 0) release(f.clientMessageId);
      // Delivered receipts, coalesced the way chat-pairs does: every 8th message.
      if (ackEvery > 0 && f.seq - m.lastAcked >= ackEvery) {
        m.lastAcked = f.seq;
        m.session.send({ frame: { case: "ack", value: { conversationId, seq: BigInt(f.seq) } } });
      }
      return;
    }
    case responseField.sendResult: {
      const s = m.sender;
      if (!s) return;
      const f = scanSendResult(bytes, start, end, scratch);
      s.awaitingResult--;
      const t = sentAt.get(f.clientMessageId);
      if (t !== undefined) {
        sentAt.delete(f.clientMessageId);
        storedUs.push(nowUs() - t);
      }
      if (f.errorCode !== 0 || f.duplicate) {
        // A duplicate is not stored again nor delivered: it must not hold a window slot.
        sendErrors++;
        s.inFlight--;
        pending.delete(f.clientMessageId);
        pump(s);
        return;
      }
      sentOk++;
      if (counting) windowStored++;
      if (mode !== "window" || untilStored) {
        s.inFlight--;
        pump(s);
      } else if (pending.get(f.clientMessageId)?.remaining === 0) release(f.clientMessageId);
      return;
    }
    case responseField.receipt:
    case responseField.receiptSummary:
      receiptsReceived++;
      if (counting) windowReceipts++;
      return;
    case responseField.conversationUpdated:
      if (counting) windowSignals++;
      return;
    case responseField.error:
      frameErrors++;
      return;
    default:
      return;
  }
}

function openSession(url: string, index: number, token: string): Promise<Member> {
  return connectH2(url).then(
    (conn) =>
      new Promise<Member>((resolve, reject) => {
        connections.push(conn);
        let synced = false;
        const m: Member = { index, lastAcked: 0, lastSeq: 0, closed: false } as Member;
        m.session = new RawByteSession(
          conn,
          (bytes) => {
            if (!synced && scanFrame(bytes).field === responseField.syncComplete) {
              synced = true;
              resolve(m);
              return;
            }
            onFrame(m, bytes);
          },
          (status) => {
            if (m.closed) return;
            sessionsEnded++;
            if (!synced) reject(new Error(`member ${index}: session ended with grpc-status ${status} before sync`));
          },
        );
        m.session.send({ frame: { case: "hello", value: { accessToken: token } } });
      }),
  );
}

serveWorker({
  /** Opens sessions for more members (they stay open for the larger groups that follow). */
  async open(a) {
    const { sessions, heartbeatMs, tag } = a as { sessions: { index: number; url: string; token: string }[]; heartbeatMs: number; tag: string };
    workerTag = tag;
    const inFlight = 64;
    for (let i = 0; i < sessions.length; i += inFlight) {
      members.push(...(await Promise.all(sessions.slice(i, i + inFlight).map((s) => openSession(s.url, s.index, s.token)))));
    }
    // Heartbeats, spread over the interval so they do not arrive in one burst.
    clearInterval(pinger);
    const ping = grpcFrame(toBinary(SessionRequestSchema, create(SessionRequestSchema, { frame: { case: "ping", value: { nonce: 1n } } })));
    let next = 0;
    const perTick = Math.max(1, Math.ceil(members.length / (heartbeatMs / 100)));
    pinger = setInterval(() => {
      for (let k = 0; k < perTick && members.length > 0; k++) members[next++ % members.length]!.session.sendFramed(ping);
    }, 100);
    return { open: members.length };
  },
  /** The group now measured; `senderIndexes` are members of this process that send. */
  async use(a) {
    const { conversationId: c, senderIndexes, ack, messageBytes } = a as { conversationId: string; senderIndexes: number[]; ack: number; messageBytes: number };
    conversationId = c;
    ackEvery = ack;
    padding = "x".repeat(Math.max(0, messageBytes - 20));
    for (const m of members) {
      m.sender = undefined;
      m.lastAcked = 0;
      m.lastSeq = 0;
    }
    senders = members.filter((m) => senderIndexes.includes(m.index)).map((member) => (member.sender = { member, inFlight: 0, awaitingResult: 0 }));
    sentOk = sendErrors = received = receiptsReceived = frameErrors = 0;
    latency.clear();
    pending.clear();
    return { senders: senders.length, members: members.length };
  },
  async saturate(a) {
    windowSize = a.window as number;
    untilStored = a.untilStored === true;
    mode = "window";
    for (const s of senders) pump(s);
    return {};
  },
  async rate(a) {
    // A fixed aggregate rate for this process, spread over its senders, ticking every 2 ms.
    const perSecond = a.perSecond as number;
    if (senders.length === 0) return {};
    mode = "rate";
    let i = 0;
    rateTimer = steadyRate(perSecond, () => send(senders[i++ % senders.length]!));
    return {};
  },
  /** Starts the measuring window; with `latency`, tracks messages sent from `since` (µs). */
  async record(a) {
    windowDeliveries = windowReceipts = windowSignals = windowStored = 0;
    counting = true;
    latency.clear();
    sentAt.clear();
    storedUs = [];
    trackSince = a.latency ? (a.since as number) : Number.POSITIVE_INFINITY;
    return {};
  },
  async snapshot() {
    counting = false;
    return { deliveries: windowDeliveries, receipts: windowReceipts, signals: windowSignals, stored: windowStored };
  },
  /** Stops sending and waits for the sends in flight to be answered. */
  async stop() {
    mode = "idle";
    clearInterval(rateTimer);
    const end = Date.now() + 10_000;
    while (senders.some((s) => s.awaitingResult > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    for (const s of senders) s.inFlight = 0;
    pending.clear();
    return {};
  },
  async totals() {
    return { sentOk, sendErrors, received, receipts: receiptsReceived, sessionsEnded, frameErrors };
  },
  /** Per message sent in [since, until): [client id, max latency µs, members of this process that got it, min latency µs]. */
  async latencies(a) {
    const until = a.until as number;
    trackSince = Number.POSITIVE_INFINITY;
    const out: [string, number, number, number][] = [];
    for (const [cid, e] of latency) if (e.sentUs < until) out.push([cid, e.maxUs, e.count, e.minUs]);
    latency.clear();
    sentAt.clear();
    return { entries: out, storedUs };
  },
  /** Acknowledges everything received, so a later session of the device replays nothing. */
  async ackAll() {
    for (const m of members) if (m.lastSeq > m.lastAcked) m.session.send({ frame: { case: "ack", value: { conversationId, seq: BigInt(m.lastSeq) } } });
    return {};
  },
  async close() {
    clearInterval(pinger);
    clearInterval(rateTimer);
    for (const m of members) {
      m.closed = true;
      m.session.close();
    }
    for (const c of connections) c.destroy();
    members.length = 0;
    connections.length = 0;
    senders = [];
    return {};
  },
});
