import type http2 from "node:http2";
import type { SendResult, SessionResponse } from "@messenger/proto/gateway/v1/gateway_service";
import { connectH2, RawSession } from "../raw-session.js";
import { SendMeter } from "../send-meter.js";

/** gRPC status codes a send may be repeated after (the SDK's list). */
const retryable = new Set([14, 4, 10, 13, 2, 8]);
/** A stream that has said nothing for this long (pongs come every second) is given up. */
const silenceLimitMs = 8_000;

interface Pending {
  readonly id: string;
  readonly index: number;
  readonly conversationId: string;
  readonly text: string;
  readonly createdAt: number;
  inFlight: boolean;
}

/** What a device holds of one conversation, over all its streams. */
interface Ledger {
  readonly held: Set<number>;
  max: number;
}

/** One acknowledged send: its seq, in the device's order of sending. */
export interface AckedSend {
  readonly conversationId: string;
  readonly seq: number;
  /** Its place in the device's order of sending. */
  readonly index: number;
}

/**
 * One user's device on raw gRPC Session streams (no SDK: the SDK reorders and fills gaps, and
 * so would hide a server that delivers out of order, twice or not at all). It sends what it
 * is given, repeating every unacknowledged send in order with its original client_message_id
 * on the next stream (sends are idempotent), after retry_after_ms when refused; on a go_away
 * or a cut it reconnects to a gateway and resumes from its cursors (per conversation
 * the highest seq it holds). Every message frame is checked: a seq it already holds is a
 * duplicate, a seq not above the previous one of the same conversation on the same stream is
 * out of order.
 */
export class ChaosDevice {
  readonly meter = new SendMeter();
  readonly acked: AckedSend[] = [];
  /** Send results neither stored nor retryable (must stay empty). */
  readonly rejected: SendResult[] = [];
  duplicates = 0;
  outOfOrder = 0;
  resets = 0;
  reconnects = 0;
  /** The largest retry_after_ms of a refusal. */
  largestHintMs = 0;
  /** The longest time the device had a send pending without any send acknowledged, ms. */
  longestStallMs = 0;
  /** When (Date.now()) that stall ended, to tell which fault caused it. */
  longestStallEndedAt = 0;
  /** The current stream has finished its replay. */
  synced = false;
  private readonly ledgers = new Map<string, Ledger>();
  private readonly pending = new Map<string, Pending>();
  private streamLast = new Map<string, number>();
  private connection: http2.ClientHttp2Session | undefined;
  private session: RawSession | undefined;
  private generation = 0;
  private welcomed = false;
  private closed = false;
  private count = 0;
  private failures = 0;
  private lastAckAt = performance.now();
  private lastFrameAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 100;

  constructor(
    readonly userId: string,
    readonly token: string,
    private readonly urls: readonly string[],
    private urlIndex: number,
    private readonly name: string,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The seqs it holds of a conversation. */
  holds(conversationId: string, seq: number): boolean {
    return this.ledgers.get(conversationId)?.held.has(seq) ?? false;
  }

  /** Opens the first stream; resolves once its replay is done. */
  async start(): Promise<void> {
    this.open();
    const deadline = Date.now() + 30_000;
    while (!this.synced) {
      if (Date.now() > deadline) throw new Error(`${this.name}: no sync_complete in 30 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Makes the device's next message in a conversation and sends it if the stream is up. */
  sendNext(conversationId: string): void {
    const index = this.count++;
    const id = `${this.name}-${index}`;
    if (this.pending.size === 0) this.lastAckAt = Math.max(this.lastAckAt, performance.now());
    this.pending.set(id, { id, index, conversationId, text: id, createdAt: performance.now(), inFlight: false });
    if (!this.retryTimer) this.flush();
  }

  /** Ends the stream and opens a new one (resuming from the cursors), as after a network change. */
  resume(): void {
    this.reconnect(0, false);
  }

  /** The longest stall so far, counting one still open. */
  stallMs(): number {
    const oldest = this.pending.values().next().value;
    const open = oldest ? performance.now() - Math.max(this.lastAckAt, oldest.createdAt) : 0;
    return Math.max(this.longestStallMs, open);
  }

  close(): void {
    this.closed = true;
    this.generation++;
    clearTimeout(this.retryTimer);
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pinger);
    this.session?.close();
    this.connection?.destroy();
  }

  private open(): void {
    if (this.closed) return;
    const gen = ++this.generation;
    const url = this.urls[this.urlIndex % this.urls.length]!;
    this.welcomed = false;
    this.synced = false;
    this.streamLast = new Map();
    connectH2(url).then(
      (conn) => {
        if (gen !== this.generation) return void conn.destroy();
        this.connection = conn;
        conn.on("error", () => undefined);
        conn.once("close", () => this.ended(gen, 14));
        const s = new RawSession(
          conn,
          (f) => this.take(gen, f),
          (status) => this.ended(gen, Number(status) || 0),
        );
        // A stream refused at once ends "trailers-only": its status comes in the headers.
        s.stream.once("response", (headers) => {
          if (headers["grpc-status"] !== undefined) this.ended(gen, Number(headers["grpc-status"]));
        });
        s.stream.once("close", () => this.ended(gen, 14));
        this.session = s;
        this.lastFrameAt = performance.now();
        const cursors = [...this.ledgers].map(([conversationId, l]) => ({ conversationId, seq: BigInt(l.max) }));
        s.send({ frame: { case: "hello", value: { accessToken: this.token, resume: { cursors } } } });
        this.pinger = setInterval(() => {
          if (performance.now() - this.lastFrameAt > silenceLimitMs) this.ended(gen, 4);
          else s.send({ frame: { case: "ping", value: { nonce: 1n } } });
        }, 1_000);
      },
      () => {
        if (gen !== this.generation) return;
        // Nobody listens there (a gateway down): the next one, after a growing wait.
        this.urlIndex++;
        this.backoffMs = Math.min(2_000, this.backoffMs * 2);
        this.reconnectTimer = setTimeout(() => this.open(), this.backoffMs);
      },
    );
  }

  /** The stream of generation `gen` ended with `code` (a cut unless 0). */
  private ended(gen: number, code: number): void {
    if (gen !== this.generation || this.closed) return;
    this.meter.streamEnded(code);
    this.reconnect(100, true);
  }

  private reconnect(afterMs: number, nextGateway: boolean): void {
    this.generation++;
    this.reconnects++;
    clearInterval(this.pinger);
    clearTimeout(this.reconnectTimer);
    this.session?.close();
    this.connection?.destroy();
    this.session = undefined;
    this.connection = undefined;
    this.welcomed = false;
    this.synced = false;
    // A gateway at random, so the devices of a gateway that went away spread over the others
    // and come back as it returns; one that does not answer is skipped (see open).
    if (nextGateway) this.urlIndex = Math.floor(Math.random() * this.urls.length);
    this.reconnectTimer = setTimeout(() => this.open(), afterMs);
  }

  private take(gen: number, r: SessionResponse): void {
    if (gen !== this.generation) return;
    this.lastFrameAt = performance.now();
    const f = r.frame;
    switch (f.case) {
      case "welcome":
        this.welcomed = true;
        this.backoffMs = 100;
        for (const p of this.pending.values()) p.inFlight = false;
        if (!this.retryTimer) this.flush();
        return;
      case "syncComplete":
        this.synced = true;
        return;
      case "goAway":
        // Draining, or sends wait behind a refused one: a fresh stream, in a while.
        this.meter.goAway();
        this.reconnect(Math.max(100, f.value.reconnectAfterMs), true);
        return;
      case "reset":
        this.resets++;
        return;
      case "message": {
        const { conversationId } = f.value;
        const seq = Number(f.value.seq);
        let l = this.ledgers.get(conversationId);
        if (!l) this.ledgers.set(conversationId, (l = { held: new Set(), max: 0 }));
        const last = this.streamLast.get(conversationId);
        if (l.held.has(seq)) this.duplicates++;
        else if (last !== undefined && seq <= last) this.outOfOrder++;
        l.held.add(seq);
        if (seq > l.max) l.max = seq;
        this.streamLast.set(conversationId, seq);
        return;
      }
      case "sendResult":
        this.result(f.value);
        return;
      default:
        return;
    }
  }

  private result(r: SendResult): void {
    this.meter.result(r);
    const p = this.pending.get(r.clientMessageId);
    if (r.errorCode === 0) {
      if (!p) return; // a late answer to a repeat already acknowledged
      this.pending.delete(p.id);
      const now = performance.now();
      const stall = now - Math.max(this.lastAckAt, p.createdAt);
      if (stall > this.longestStallMs) {
        this.longestStallMs = stall;
        this.longestStallEndedAt = Date.now();
      }
      this.lastAckAt = now;
      this.acked.push({ conversationId: p.conversationId, seq: Number(r.message?.seq ?? 0n), index: p.index });
      if (this.failures > 0) {
        this.failures = 0;
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.flush();
      }
      return;
    }
    if (!retryable.has(r.errorCode)) {
      this.rejected.push(r);
      if (p) this.pending.delete(p.id);
      return;
    }
    if (p) p.inFlight = false;
    this.failures++;
    this.largestHintMs = Math.max(this.largestHintMs, r.retryAfterMs);
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, Math.max(1, r.retryAfterMs));
  }

  /** Writes every pending send not on the wire, in the device's order. */
  private flush(): void {
    if (!this.welcomed || !this.session) return;
    for (const p of this.pending.values()) {
      if (p.inFlight) continue;
      p.inFlight = true;
      this.meter.sent(p.id);
      this.session.send({ frame: { case: "send", value: { conversationId: p.conversationId, clientMessageId: p.id, body: { case: "text", value: p.text } } } });
    }
  }
}
