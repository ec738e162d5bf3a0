// Load generator: P pairs of users chatting 1:1 over raw sessions. Each pair lives in this
// process, so the send→deliver latency is measured on one clock. Receivers acknowledge
// delivery (receipts on); senders keep a window of sends in flight (saturation) or send at
// a fixed rate (latency).
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type http2 from "node:http2";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { openSyncedSession, type RawSession } from "../raw-session.js";
import { serveWorker } from "../worker-host.js";
import { steadyRate } from "../steady-rate.js";

interface Pair {
  conversationId: string;
  sender: RawSession;
  receiver: RawSession;
  inFlight: number;
  nextId: number;
  delivered: number;
  lastAcked: bigint;
}

const pairs: Pair[] = [];
const connections: http2.ClientHttp2Session[] = [];
let recording = false;
let latenciesUs: number[] = [];
let deliveredTotal = 0;
let sendErrors = 0;
let mode: "idle" | "window" | "rate" = "idle";
let windowSize = 16;
let rateTimer: NodeJS.Timeout | undefined;
const text = (pad: number): string => `${process.hrtime.bigint()}|${"x".repeat(pad)}`;
let padding = 0;

function pump(p: Pair): void {
  while (mode === "window" && p.inFlight < windowSize) sendOne(p);
}

function sendOne(p: Pair): void {
  p.inFlight++;
  p.sender.send({ frame: { case: "send", value: { clientMessageId: `m${p.nextId++}`, conversationId: p.conversationId, body: { case: "text", value: text(padding) } } } });
}

async function session(url: string, token: string, onFrame: ConstructorParameters<typeof RawSession>[1]): Promise<RawSession> {
  const { connection, session } = await openSyncedSession(url, token, onFrame);
  connections.push(connection);
  return session;
}

serveWorker({
  async setup(a) {
    const { urls, count, prefix, messageBytes } = a as { urls: string[]; count: number; prefix: string; messageBytes: number };
    padding = Math.max(0, messageBytes - 20);
    for (let i = 0; i < count; i++) {
      const url = urls[i % urls.length]!;
      const peerUrl = urls[(i + 1) % urls.length]!;
      const transport = createGrpcTransport({ baseUrl: url });
      const accounts = createClient(AccountsService, transport);
      const names = [`${prefix}a${i}`, `${prefix}b${i}`];
      const tokens: string[] = [];
      const ids: string[] = [];
      for (const username of names) {
        const reg = await accounts.register({ username, password: "bench password" });
        const login = await accounts.login({ username, password: "bench password", deviceId: "bench" });
        tokens.push(login.tokens!.accessToken);
        ids.push(reg.user!.id);
      }
      const history = createClient(HistoryService, transport);
      const conv = await history.openDirectConversation({ peerUserId: ids[1]! }, { headers: { authorization: `Bearer ${tokens[0]}` } });
      const pair = { conversationId: conv.conversation!.id, inFlight: 0, nextId: 0, delivered: 0, lastAcked: 0n } as Pair;
      pair.sender = await session(url, tokens[0]!, (f) => {
        if (f.frame.case === "sendResult") {
          pair.inFlight--;
          if (f.frame.value.errorCode !== 0) sendErrors++;
          pump(pair);
        }
      });
      pair.receiver = await session(peerUrl, tokens[1]!, (f) => {
        if (f.frame.case !== "message") return;
        const m = f.frame.value;
        const body = m.body.case === "text" ? m.body.value : "0|";
        const sentAt = BigInt(body.slice(0, body.indexOf("|")));
        if (recording) {
          deliveredTotal++;
          latenciesUs.push(Number(process.hrtime.bigint() - sentAt) / 1000);
        }
        // Delivered receipts, coalesced the way the SDK does: every 8th message.
        if (m.seq - pair.lastAcked >= 8n) {
          pair.lastAcked = m.seq;
          pair.receiver.send({ frame: { case: "ack", value: { conversationId: pair.conversationId, seq: m.seq } } });
        }
      });
      pairs.push(pair);
    }
    return { pairs: pairs.length };
  },
  async saturate(a) {
    windowSize = (a.window as number) ?? 16;
    mode = "window";
    for (const p of pairs) pump(p);
    return {};
  },
  async rate(a) {
    // A fixed aggregate rate for this worker, spread over its pairs, ticking every 2 ms.
    const perSecond = a.perSecond as number;
    mode = "rate";
    let i = 0;
    rateTimer = steadyRate(perSecond, () => sendOne(pairs[i++ % pairs.length]!));
    return {};
  },
  async record() {
    latenciesUs = [];
    deliveredTotal = 0;
    recording = true;
    return {};
  },
  async collect() {
    recording = false;
    return { delivered: deliveredTotal, latenciesUs, sendErrors };
  },
  async stop() {
    mode = "idle";
    clearInterval(rateTimer);
    // Let the in-flight sends finish.
    const end = Date.now() + 5_000;
    while (pairs.some((p) => p.inFlight > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return {};
  },
  async close() {
    for (const p of pairs) {
      p.sender.close();
      p.receiver.close();
    }
    for (const c of connections) c.destroy();
    return {};
  },
});
