import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "@messenger/proto/chat/v1/types";
import type { SessionResponseSchema } from "@messenger/proto/gateway/v1/gateway_service";
import { ConversationFeeds, type FeedOutput } from "./conversation-feeds.js";

/** A frame for the client, as a message or its init shape. */
export type OutboundFrame = MessageInitShape<typeof SessionResponseSchema>;

/** What a session asks of its gateway; one object serves every session of a gateway. */
export interface GapFiller {
  /** Fetch what the user may see of (afterSeq, beforeSeq) and settle it on this session. */
  fill(session: Session, conversationId: string, afterSeq: bigint, beforeSeq: bigint): void;
}

/**
 * One device's live stream on this gateway: a bounded outbound queue, the per-conversation
 * order of its messages (ConversationFeeds) and the merge of the resume replay with live
 * deliveries.
 *
 * While the replay runs, live deliveries are held back; afterwards they are released
 * through the feeds, which drop what the replay already sent and fetch what no router sent.
 */
export class Session implements FeedOutput {
  /** Epoch ms of the last frame from the client. */
  lastActivity = Date.now();
  readonly feeds: ConversationFeeds;
  private readonly queue: OutboundFrame[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private roomWaiter: (() => void) | undefined;
  private closed = false;
  private failure: ConnectError | undefined;
  private syncing = true;
  private held: OutboundFrame[] = [];
  private updates: Map<string, bigint> | undefined;
  /** Large groups of this session: their messages are pulled by the client, never pushed. */
  private large: Set<string> | undefined;
  private updateTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly userId: string,
    readonly deviceId: string,
    private readonly limit: number,
    /** The stream must end now with this status. */
    private readonly onFail: (reason: ConnectError) => void,
    private readonly filler: GapFiller,
    /** conversation_updated signals are coalesced per conversation over this window. */
    private readonly updateWindowMs = 250,
  ) {
    // The session is its feeds' output: no closures per session.
    this.feeds = new ConversationFeeds(this);
  }

  /** A message the feeds release, in order. */
  emit(m: Message): void {
    this.enqueue({ frame: { case: "message", value: m } });
  }

  /** The feeds ask for a gap to be read from the store. */
  requestFill(conversationId: string, afterSeq: bigint, beforeSeq: bigint): void {
    this.filler.fill(this, conversationId, afterSeq, beforeSeq);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True until the resume replay ended. */
  get isSyncing(): boolean {
    return this.syncing;
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

  /** The answer to one of this session's sends; a stored message counts as delivered to it. */
  sendResult(frame: OutboundFrame & { frame: { case: "sendResult" } }): void {
    const m = frame.frame.value.message as Message | undefined;
    if (m && !this.closed) {
      // In a large group nothing is pushed, so there is no gap to fill before a send.
      if (this.large?.has(m.conversationId)) this.feeds.settle(m.conversationId, [], m.seq);
      else this.feeds.own(m);
    }
    this.enqueue(frame);
  }

  /** Marks a conversation as a large group (the replay or a signal said so). */
  markLarge(conversationId: string): void {
    (this.large ??= new Set()).add(conversationId);
  }

  /** Ends the replay: fills may start, and the live frames held back meanwhile go out. */
  finishSync(): void {
    this.syncing = false;
    this.feeds.startFilling();
    const held = this.held;
    this.held = [];
    for (const f of held) this.release(f);
  }

  enqueue(frame: OutboundFrame): void {
    if (this.closed) return;
    this.queue.push(frame);
    if (this.backlog + this.feeds.backlog > this.limit) return this.overflow();
    this.wake?.();
  }

  /**
   * Resolves once the backlog is at most half the bound: the replay paces itself with it, and
   * the frame reader waits on it after a send, so a client that sends faster than it reads
   * its answers is held back by HTTP/2 flow control rather than cut.
   */
  roomFor(): Promise<void> {
    if (this.closed || this.backlog <= this.limit / 2) return Promise.resolve();
    return new Promise((resolve) => {
      // Rarely more than one waiter (the replay and the frame reader): chained, not listed,
      // so an idle session holds no array.
      const before = this.roomWaiter;
      this.roomWaiter = before
        ? () => {
            before();
            resolve();
          }
        : resolve;
    });
  }

  /** Ends the stream after what is queued has been written. */
  end(): void {
    this.closed = true;
    clearTimeout(this.updateTimer);
    this.wake?.();
    this.roomWaiter?.();
  }

  /** Ends the stream now with an error status; queued frames are dropped (the client resumes). */
  fail(reason: ConnectError): void {
    if (this.failure) return;
    this.failure = reason;
    this.closed = true;
    clearTimeout(this.updateTimer);
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

  /** A large group's news, coalesced: at most one signal per conversation per window. */
  conversationUpdated(conversationId: string, lastSeq: bigint): void {
    if (this.closed) return;
    this.markLarge(conversationId);
    const updates = (this.updates ??= new Map());
    if ((updates.get(conversationId) ?? 0n) < lastSeq) updates.set(conversationId, lastSeq);
    this.updateTimer ??= setTimeout(() => {
      this.updateTimer = undefined;
      const pending = this.updates;
      this.updates = undefined;
      for (const [id, seq] of pending ?? []) this.enqueue({ frame: { case: "conversationUpdated", value: { conversationId: id, lastSeq: seq } } });
    }, this.updateWindowMs);
  }

  private release(frame: OutboundFrame): void {
    const f = frame.frame;
    if (f?.case === "message") return this.feeds.live(f.value as Message);
    if (f?.case === "conversationUpdated") return this.conversationUpdated(f.value.conversationId ?? "", BigInt(f.value.lastSeq ?? 0));
    this.enqueue(frame);
  }

  private overflow(): void {
    this.fail(new ConnectError(`outbound queue over ${this.limit} frames: client too slow, resume from your cursors`, Code.ResourceExhausted));
  }
}
