import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { SessionResponseSchema } from "@messenger/proto/gateway/v1/gateway_service";

/** A frame for the client, as a message or its init shape. */
export type OutboundFrame = MessageInitShape<typeof SessionResponseSchema>;

/**
 * One device's live stream on this gateway: a bounded outbound queue and the merge of the
 * resume replay with live deliveries.
 *
 * While the replay runs, live deliveries are held back; afterwards they are released,
 * skipping messages the replay already sent. Live deliveries are never duplicated by the
 * router, so this is the only place a session could see a message twice.
 */
export class Session {
  /** Epoch ms of the last frame from the client. */
  lastActivity = Date.now();
  private readonly queue: OutboundFrame[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private roomWaiter: (() => void) | undefined;
  private closed = false;
  private failure: ConnectError | undefined;
  private syncing = true;
  private held: OutboundFrame[] = [];
  private readonly replayed = new Map<string, bigint>();

  constructor(
    readonly id: string,
    readonly userId: string,
    readonly deviceId: string,
    private readonly limit: number,
    private readonly onFail: (reason: ConnectError) => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Frames waiting to be written. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  /** A live frame from the bus. */
  deliver(frame: OutboundFrame): void {
    if (this.closed) return;
    if (this.syncing) {
      this.held.push(frame);
      if (this.held.length > this.limit) this.overflow();
      return;
    }
    this.release(frame);
  }

  /** A message replayed by the resume sync. */
  replay(frame: OutboundFrame & { frame: { case: "message" } }): void {
    const m = frame.frame.value;
    const conv = m.conversationId ?? "";
    const seq = BigInt(m.seq ?? 0);
    if (seq <= (this.replayed.get(conv) ?? 0n)) return;
    this.replayed.set(conv, seq);
    this.enqueue(frame);
  }

  /** Marks a conversation replayed up to `seq`, so older live copies are dropped. */
  replayedUpTo(conversationId: string, seq: bigint): void {
    if (seq > (this.replayed.get(conversationId) ?? 0n)) this.replayed.set(conversationId, seq);
  }

  /** Ends the replay and releases the live frames held back meanwhile. */
  finishSync(): void {
    this.syncing = false;
    const held = this.held;
    this.held = [];
    for (const f of held) this.release(f);
  }

  enqueue(frame: OutboundFrame): void {
    if (this.closed) return;
    this.queue.push(frame);
    if (this.backlog > this.limit) return this.overflow();
    this.wake?.();
  }

  /** Resolves once the backlog is at most half the bound (the replay paces itself with it). */
  roomFor(): Promise<void> {
    if (this.closed || this.backlog <= this.limit / 2) return Promise.resolve();
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** Ends the stream after what is queued has been written. */
  end(): void {
    this.closed = true;
    this.wake?.();
    this.roomWaiter?.();
  }

  /** Ends the stream now with an error status; queued frames are dropped (the client resumes). */
  fail(reason: ConnectError): void {
    if (this.failure) return;
    this.failure = reason;
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.held = [];
    this.wake?.();
    this.roomWaiter?.();
    this.onFail(reason);
  }

  /** The outbound frames, until the session ends. */
  async *frames(): AsyncGenerator<OutboundFrame> {
    for (;;) {
      while (this.head < this.queue.length && !this.failure) {
        const frame = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as OutboundFrame;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        if (this.roomWaiter && this.backlog <= this.limit / 2) {
          this.roomWaiter();
          this.roomWaiter = undefined;
        }
        yield frame;
      }
      if (this.failure) throw this.failure;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private release(frame: OutboundFrame): void {
    if (frame.frame?.case === "message") {
      const m = frame.frame.value;
      if (BigInt(m.seq ?? 0) <= (this.replayed.get(m.conversationId ?? "") ?? 0n)) return;
    }
    this.enqueue(frame);
  }

  private overflow(): void {
    this.fail(new ConnectError(`outbound queue over ${this.limit} frames: client too slow, resume from your cursors`, Code.ResourceExhausted));
  }
}
