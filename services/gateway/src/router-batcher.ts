import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { SendItemResult, SendItemSchema } from "@messenger/proto/router/v1/router_service";

/** A message for the router, with its sender. */
export type SendItemInit = MessageInitShape<typeof SendItemSchema>;

/** Items per SendMessages call: the store takes at most 256 per call. */
export const maxItemsPerCall = 256;

interface Submission {
  readonly items: readonly SendItemInit[];
  resolve(results: SendItemResult[]): void;
  reject(err: unknown): void;
}

/**
 * Merges the send batches that this gateway's sessions make in the same event-loop turn into
 * one router call (SendMessages names the sender of each item). Under load many sessions'
 * sends share a call, and the router and the store then do one call's work for all of them;
 * when the gateway is quiet a batch goes alone on the next turn, so no latency is added. A
 * session has at most one batch in flight (SendPipeline) and a batch is never split, so
 * every device's order holds.
 */
export class RouterBatcher {
  private waiting: Submission[] = [];
  private scheduled = false;

  constructor(private readonly call: (items: SendItemInit[]) => Promise<readonly SendItemResult[]>) {}

  /** Sends one session's batch; resolves with one result per item, in order. */
  send(items: readonly SendItemInit[]): Promise<SendItemResult[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ items, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = [];
    let group: Submission[] = [];
    let size = 0;
    for (const s of all) {
      if (size > 0 && size + s.items.length > maxItemsPerCall) {
        void this.dispatch(group);
        group = [];
        size = 0;
      }
      group.push(s);
      size += s.items.length;
    }
    if (group.length > 0) void this.dispatch(group);
  }

  private async dispatch(group: Submission[]): Promise<void> {
    try {
      const results = await this.call(group.flatMap((s) => s.items));
      const expected = group.reduce((n, s) => n + s.items.length, 0);
      if (results.length !== expected) throw new ConnectError(`router answered ${results.length} of ${expected} sends`, Code.Internal);
      let at = 0;
      for (const s of group) {
        s.resolve(results.slice(at, at + s.items.length));
        at += s.items.length;
      }
    } catch (err) {
      for (const s of group) s.reject(err);
    }
  }
}
