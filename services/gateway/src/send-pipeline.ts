import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SendMessage, SendResultSchema } from "@messenger/proto/gateway/v1/gateway_service";
import type { SendItemResult } from "@messenger/proto/router/v1/router_service";
import { peerError, retryableSendCodes } from "./peer-error.js";
import { SendOrder } from "./send-order.js";

/** What a pipeline needs from its session. */
export interface SendPipelineDeps {
  /** Stores the sends in order (the router's SendMessages); one result per send. */
  send(items: readonly SendMessage[]): Promise<readonly SendItemResult[]>;
  /** A send's result, for the client, in the order the sends came. */
  result(r: MessageInitShape<typeof SendResultSchema>): void;
  /** Too many sends wait behind one that must be repeated: the session must end. */
  overflow(reason: ConnectError): void;
  /** True once the session has ended; what is still queued is dropped (the client resends it). */
  closed(): boolean;
}

/** Sends a pipeline may hold before the session stops reading the client's frames. */
export const maxQueuedSends = 256;
/** Sends per router call. */
export const maxSendBatch = 128;

/**
 * A session's sends, pipelined. While one batch is with the router, the sends that arrive
 * queue up and go together as the next batch, so a device may have many sends in flight and
 * they are still stored in its order.
 *
 * Once a send fails with a retryable code, it heads a SendOrder queue: every later send is
 * refused with ABORTED and joins the queue, and sends are taken again only in that queue's
 * order, as the client repeats them. Otherwise a later message could be stored before an
 * earlier one. Sends later in the same batch as a failed one are not stored (the store
 * guarantees it) and are refused the same way.
 */
export class SendPipeline {
  private queue: SendMessage[] = [];
  private running: Promise<void> | undefined;
  private roomWaiter: (() => void) | undefined;
  private readonly order: SendOrder;

  constructor(
    private readonly deps: SendPipelineDeps,
    orderLimit: number,
  ) {
    this.order = new SendOrder(orderLimit);
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
    if (this.queue.length < maxQueuedSends) return Promise.resolve();
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** Resolves once every send added so far has its result. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const taken = this.deps.closed() ? this.queue.splice(0) : this.queue.splice(0, maxSendBatch);
      if (this.roomWaiter && this.queue.length < maxQueuedSends) {
        this.roomWaiter();
        this.roomWaiter = undefined;
      }
      if (this.deps.closed()) break;
      const batch = taken.filter((s) => this.admit(s));
      if (batch.length === 0) continue;
      let results: readonly SendItemResult[] | undefined;
      let failure: ConnectError | undefined;
      try {
        results = await this.deps.send(batch);
      } catch (err) {
        failure = peerError(err);
      }
      let failed = false;
      batch.forEach((s, i) => {
        const r = results?.[i];
        const code: Code = failure?.code ?? r?.errorCode ?? Code.Internal;
        if (r && r.errorCode === 0) {
          this.deps.result({ clientMessageId: s.clientMessageId, message: r.message, duplicate: r.duplicate });
        } else if (failed && retryableSendCodes.has(code) && !this.admit(s)) {
          // Refused behind the failed send; admit has told the client.
        } else {
          if (retryableSendCodes.has(code)) {
            failed = true;
            this.order.failed(s.clientMessageId);
          }
          this.deps.result({ clientMessageId: s.clientMessageId, errorCode: code, errorMessage: failure?.rawMessage ?? r?.errorMessage ?? "no result for this send" });
        }
      });
    }
  }

  /** True when the send may go now; otherwise it is refused with ABORTED, in order behind the send that must be repeated first. */
  private admit(s: SendMessage): boolean {
    const waitFor = this.order.admit(s.clientMessageId);
    if (waitFor === undefined) return true;
    this.deps.result({ clientMessageId: s.clientMessageId, errorCode: Code.Aborted, errorMessage: `send ${waitFor} failed and must be repeated first, to keep the order` });
    if (this.order.overflowing) this.deps.overflow(new ConnectError("too many sends waiting for an earlier one: reconnect and resend in order", Code.ResourceExhausted));
    return false;
  }
}
