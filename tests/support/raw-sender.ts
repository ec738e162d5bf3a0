import { SendMeter } from "@messenger/bench";
import { resendDelay } from "@messenger/sdk";
import type { SendResult, SessionResponse } from "@messenger/proto/gateway/v1/gateway_service";
import { openRawSession, type RawSession } from "./raw-session.js";

/** gRPC status codes a send may be repeated after (the SDK's list). */
const retryable = new Set([14, 4, 10, 13, 2, 8]);

/** How a raw sender repeats sends refused for an outage. */
export interface ResendPolicy {
  /**
   * `all`: every pending send not on the wire is written, in order, when the wait is over.
   * `first`: while sends are refused only the first pending one is repeated when the wait is
   * over; the rest, new ones included, follow once it is stored.
   */
  readonly repeat: "all" | "first";
  /**
   * A new send, and a new stream, write every pending send not on the wire at once, running
   * wait or not (the SDK before this change did); otherwise they wait for it too.
   */
  readonly eager: boolean;
  /** The wait before repeating, given the refusal's retry_after_ms and the refusals in a row before it. */
  wait(hintMs: number, attempt: number): number;
}

/** The SDK as it was: everything pending, in order, every 300 ms, whatever the server says. */
export const everything300ms: ResendPolicy = { repeat: "all", eager: true, wait: () => 300 };
/** Everything pending, in order, after the server's hint: a client that keeps sending through an outage. */
export const everythingAfterHint: ResendPolicy = { repeat: "all", eager: false, wait: (hint) => Math.max(1, hint) };
/** The SDK now: the first pending send after the hint with exponential backoff and jitter, then the rest. */
export const firstAfterHint: ResendPolicy = { repeat: "first", eager: false, wait: (hint, attempt) => resendDelay(attempt, hint, 300, 5_000) };

interface Pending {
  readonly id: string;
  readonly text: string;
  inFlight: boolean;
}

/** A refusal as the sender saw it. */
export interface SeenRefusal {
  readonly clientMessageId: string;
  readonly code: number;
  readonly retryAfterMs: number;
}

/**
 * One device that sends text messages into a conversation over raw gRPC streams (no SDK),
 * repeats refused sends by a policy, reconnects when the server ends its stream, and feeds
 * a SendMeter with every frame. `texts` is the device's order; the test reads what was stored
 * from history.
 */
export class RawSender {
  readonly meter = new SendMeter();
  readonly texts: string[] = [];
  readonly refusals: SeenRefusal[] = [];
  /** Send results other than stored or a retryable refusal (must stay empty). */
  readonly rejected: SendResult[] = [];
  private readonly pending = new Map<string, Pending>();
  private session: RawSession | undefined;
  private welcomed = false;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private count = 0;
  private reconnectAfterMs = 100;

  constructor(
    private readonly port: number,
    private readonly token: () => Promise<string>,
    private readonly conversationId: string,
    private readonly policy: ResendPolicy,
    private readonly name = `raw${process.pid}`,
  ) {}

  /** Sends waiting for their ack. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Opens the stream; resolves once it is welcomed. */
  async start(): Promise<void> {
    await this.open();
  }

  /** Makes the next message of the device and sends it (at once, unless the policy holds it back). */
  sendNext(): void {
    const text = `${this.name} ${this.count++}`;
    this.texts.push(text);
    const id = `${this.name}-${this.count}`;
    this.pending.set(id, { id, text, inFlight: false });
    this.flush(this.policy.eager);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.session?.close();
  }

  private async open(): Promise<void> {
    const s = openRawSession(this.port);
    this.session = s;
    this.welcomed = false;
    let seen = 0;
    s.call.on("data", () => {
      for (; seen < s.frames.length; seen++) this.take(s.frames[seen]!.frame);
    });
    void s.status.then((status) => {
      if (this.closed || this.session !== s) return;
      this.meter.streamEnded(status.code);
      clearInterval(this.pinger);
      this.session = undefined;
      this.welcomed = false;
      setTimeout(() => void this.open().catch(() => undefined), this.reconnectAfterMs);
      this.reconnectAfterMs = 100;
    });
    s.send({ frame: { case: "hello", value: { accessToken: await this.token() } } });
    this.pinger = setInterval(() => s.send({ frame: { case: "ping", value: { nonce: 1n } } }), 1_000);
    await s.next((f) => f.frame.case === "welcome", 15_000);
  }

  private take(f: SessionResponse["frame"]): void {
    if (f.case === "welcome") {
      this.welcomed = true;
      for (const p of this.pending.values()) p.inFlight = false;
      this.flush(this.policy.eager);
      return;
    }
    if (f.case === "goAway") {
      this.meter.goAway();
      this.reconnectAfterMs = Math.max(100, f.value.reconnectAfterMs);
      return;
    }
    if (f.case !== "sendResult") return;
    const r = f.value;
    this.meter.result(r);
    const p = this.pending.get(r.clientMessageId);
    if (r.errorCode === 0) {
      this.pending.delete(r.clientMessageId);
      if (this.failures > 0) {
        this.failures = 0;
        clearTimeout(this.timer);
        this.timer = undefined;
        this.flush(true);
      }
      return;
    }
    this.refusals.push({ clientMessageId: r.clientMessageId, code: r.errorCode, retryAfterMs: r.retryAfterMs });
    if (!retryable.has(r.errorCode)) {
      this.rejected.push(r);
      this.pending.delete(r.clientMessageId);
      return;
    }
    if (p) p.inFlight = false;
    if (this.timer) return;
    const wait = this.policy.wait(r.retryAfterMs, this.failures++);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush(true);
    }, wait);
  }

  /** Writes what the policy lets go now, always in the device's order; `now` ignores a running wait. */
  private flush(now: boolean): void {
    if (!this.welcomed || (this.timer && !now)) return;
    for (const p of this.pending.values()) {
      if (this.policy.repeat === "first" && this.failures > 0) {
        if (!p.inFlight) this.write(p);
        return;
      }
      if (!p.inFlight) this.write(p);
    }
  }

  private write(p: Pending): void {
    if (!this.welcomed || !this.session) return;
    p.inFlight = true;
    this.meter.sent(p.id);
    this.session.send({ frame: { case: "send", value: { conversationId: this.conversationId, clientMessageId: p.id, body: { case: "text", value: p.text } } } });
  }
}
