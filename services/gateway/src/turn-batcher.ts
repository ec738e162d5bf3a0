import { Code, ConnectError } from "@connectrpc/connect";

/** Items per router call: the store takes at most 256 per call. */
export const maxItemsPerCall = 256;

interface Submission<Item, Result> {
  readonly items: readonly Item[];
  resolve(results: Result[]): void;
  reject(err: unknown): void;
}

/**
 * Merges the items that this gateway's sessions submit in the same event-loop turn into one
 * router call (SendMessages and UpdateCursors name the sender of each item). Under load many
 * sessions' frames share a call, and the router and the store then do one call's work for
 * all of them; when the gateway is quiet a submission goes alone on the next turn, so no
 * latency is added. A submission is never split, so a session's batch keeps its order (and a
 * session has at most one send batch in flight, see SendPipeline).
 */
export class TurnBatcher<Item, Result> {
  private waiting: Submission<Item, Result>[] = [];
  private scheduled = false;

  constructor(private readonly call: (items: Item[]) => Promise<readonly Result[]>) {}

  /** Submits one session's items; resolves with one result per item, in order. */
  send(items: readonly Item[]): Promise<Result[]> {
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
    let group: Submission<Item, Result>[] = [];
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

  private async dispatch(group: Submission<Item, Result>[]): Promise<void> {
    try {
      const results = await this.call(group.flatMap((s) => s.items));
      const expected = group.reduce((n, s) => n + s.items.length, 0);
      if (results.length !== expected) throw new ConnectError(`router answered ${results.length} of ${expected} items`, Code.Internal);
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
