import { Code, type ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SendMessage, SendResultSchema } from "@messenger/proto/gateway/v1/gateway_service";
import type { SendItemResult } from "@messenger/proto/router/v1/router_service";
import { peerError, retryableSendCodes } from "./peer-error.js";
import type { SendOrder } from "./send-order.js";

/** What a pipeline needs from its session. */
export interface SendPipelineDeps {
  /** Stores the sends in order (the router's SendMessages); one result per send. */
  send(items: readonly SendMessage[]): Promise<readonly SendItemResult[]>;
  /** A send's result, for the client, in the order the sends came. */
  result(r: MessageInitShape<typeof SendResultSchema>): void;
  /** How long a client should wait before repeating a send refused now (a positive hint). */
  retryAfterMs(): number;
  /**
   * More sends wait behind a failed one than the order can remember: the client must
   * reconnect after `afterMs` and repeat them in order on a fresh stream (a go_away).
   */
  reconnect(afterMs: number): void;
  /** True once the session has ended; what is still queued is dropped (the client resends it). */
  closed(): boolean;
}

/** Sends a pipeline may hold before the session stops reading the client's frames. */
export const maxQueuedSends = 256;
/** Sends per router call. */
export const maxSendBatch = 128;

/**
 * What a client is told when a send failed for an outage: one stable text whatever the cause
 * (the cause, a peer's address or socket error, is no business of the client's).
 */
const notStoredMessage = "not stored: the service is unavailable; repeat this send, with the same client message id, after retry_after_ms";

/**
 * A session's sends, pipelined. While one batch is with the router, the sends that arrive
 * queue up and go together as the next batch, so a device may have many sends in flight and
 * they are still stored in its order.
 *
 * A send that fails with a retryable code (the router or the store is down, or the gateway's
 * circuit breaker answered for it) is refused with UNAVAILABLE and a `retry_after_ms` hint,
 * and heads a SendOrder queue: every later send is refused the same way (same code, a hint
 * too, nothing held) and joins the queue, and sends are taken again only in that queue's
 * order, as the client repeats them. Otherwise a later message could be stored before an
 * earlier one. Sends later in the same batch as a failed one are not stored (the store
 * guarantees it) and are refused the same way. A client that keeps sending through an
 * outage is never cut for it: refusals cost an id each, and past the order's bound the
 * client is asked to reconnect and repeat in order (go_away with the hint), once.
 */
export class SendPipeline {
  private queue: SendMessage[] = [];
  private running: Promise<void> | undefined;
  private roomWaiter: (() => void) | undefined;
  private readonly maxQueued: number;
  private readonly maxBatch: number;

  /**
   * @param outboundLimit the session's outbound bound: sends queued and in flight stay within
   * half of it, so their answers always fit beside a backlog of the other half (the frame
   * reader waits for that), and a client that does not read its answers is slowed, not cut
   */
  constructor(
    private readonly deps: SendPipelineDeps,
    private readonly order: SendOrder,
    outboundLimit = Number.POSITIVE_INFINITY,
  ) {
    const quarter = Math.max(1, Math.floor(outboundLimit / 4));
    this.maxQueued = Math.min(maxQueuedSends, quarter);
    this.maxBatch = Math.min(maxSendBatch, quarter);
  }

  add(send: SendMessage): void {
    this.queue.push(send);
    this.start();
  }

  private start(): void {
    if (this.running) return;
    // A send added after run() found the queue empty but before this finally ran saw a
    // running loop and did not start one: start it here.
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.start();
    });
  }

  /** Resolves once fewer than maxQueuedSends wait; until then the session reads no more frames. */
  roomFor(): Promise<void> {
    if (this.queue.length < this.maxQueued) return Promise.resolve();
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** Resolves once every send added so far has its result. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const taken = this.deps.closed() ? this.queue.splice(0) : this.queue.splice(0, this.maxBatch);
      if (this.roomWaiter && this.queue.length < this.maxQueued) {
        this.roomWaiter();
        this.roomWaiter = undefined;
      }
      if (this.deps.closed()) break;
      const batch = taken.filter((s) => this.admit(s));
      // Refusing may have sent the client away (past the order's bound): nothing more goes.
      if (this.deps.closed()) break;
      if (batch.length === 0) continue;
      let results: readonly SendItemResult[] | undefined;
      let failure: ConnectError | undefined;
      try {
        results = await this.deps.send(batch);
      } catch (err) {
        failure = peerError(err);
      }
      // The first retryable failure and every send behind it in the batch (none of which was
      // stored): they go back to the head of the order, in batch order.
      const back: string[] = [];
      batch.forEach((s, i) => {
        const r = results?.[i];
        if (r && r.errorCode === 0) {
          this.order.settled(s.clientMessageId);
          this.deps.result({ clientMessageId: s.clientMessageId, message: r.message, duplicate: r.duplicate });
          return;
        }
        const code: Code = failure?.code ?? r?.errorCode ?? Code.Internal;
        if (!retryableSendCodes.has(code)) {
          this.order.settled(s.clientMessageId);
          this.deps.result({ clientMessageId: s.clientMessageId, errorCode: code, errorMessage: r?.errorMessage ?? failure?.rawMessage ?? "no result for this send" });
          return;
        }
        back.push(s.clientMessageId);
        this.deps.result({
          clientMessageId: s.clientMessageId,
          errorCode: Code.Unavailable,
          errorMessage: back.length === 1 ? notStoredMessage : behindMessage(back[0]!),
          retryAfterMs: this.deps.retryAfterMs(),
        });
      });
      if (back.length > 0) this.order.failed(back);
    }
  }

  /** True when the send may go now; otherwise it is refused (UNAVAILABLE with a hint), in order behind the send that must be repeated first. */
  private admit(s: SendMessage): boolean {
    const waitFor = this.order.admit(s.clientMessageId);
    if (waitFor === undefined) return true;
    const retryAfterMs = this.deps.retryAfterMs();
    this.deps.result({ clientMessageId: s.clientMessageId, errorCode: Code.Unavailable, errorMessage: behindMessage(waitFor), retryAfterMs });
    if (this.order.saturated && !this.deps.closed()) this.deps.reconnect(retryAfterMs);
    return false;
  }
}

function behindMessage(waitFor: string): string {
  return `not stored: send ${waitFor} failed and must be stored first, to keep the order; repeat it, then this one, after retry_after_ms`;
}
