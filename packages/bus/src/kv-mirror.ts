import { KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import type { BucketEntry } from "./kv-snapshot.js";

/** An in-memory copy of a KV bucket, kept current by a watch (see mirrorBucket). */
export interface Mirror<T> {
  readonly values: Map<string, { value: T; revision: number }>;
  /**
   * Resolves once every change up to the bucket's current last revision has been applied,
   * or after `timeoutMs` (NATS unreachable): the read then goes on with what it has.
   */
  catchUp(timeoutMs: number): Promise<void>;
  stop(): void;
}

/** How long a mirror's first start is tried again before its error is the caller's. */
const startRetryMs = 60_000;

/** The bucket's last revision (its stream's last sequence), asked of the server now. */
async function lastRevision(kv: KV): Promise<number> {
  return (await kv.status()).streamInfo.state.last_seq;
}

/** Options of mirrorBucket. */
export interface MirrorOptions<T> {
  /**
   * Reads every key's last entry, at least up to revision `upTo`, in revision order:
   * readBucket on the bucket's stream (tests wrap it to act in the middle of a pass).
   */
  readonly snapshot: (upTo: number, onEntry: (e: BucketEntry) => void) => Promise<void>;
  /** Test hook: every change the watch brings is applied this much later. @default 0 */
  readonly delayMs?: number;
  /** Told of every change to the copy: a key added, replaced or gone. */
  readonly onChange?: (before: T | undefined, after: T | undefined) => void;
  /** Told of watch failures and undecodable entries (skipped). */
  readonly onError: (err: unknown, what: string) => void;
}

/**
 * Keeps an in-memory copy of a bucket: an updates-only watch is started first, then the
 * snapshot is read in one ordered pass over the bucket's stream (every key's last entry,
 * see readBucket), and every change is applied by revision, so none is lost in between.
 * `catchUp` asks the server for the bucket's last revision and waits until the watch has
 * brought it: whatever the watch's delay, a change that completed before the call is seen.
 * A watch that ends or fails is started again, with a fresh snapshot.
 */
export async function mirrorBucket<T>(kv: KV, decode: (value: Uint8Array) => T, opts: MirrorOptions<T>): Promise<Mirror<T>> {
  const delayMs = opts.delayMs ?? 0;
  const values = new Map<string, { value: T; revision: number }>();
  let applied = 0;
  let stopped = false;
  let watch: Awaited<ReturnType<KV["watch"]>> | undefined;
  let waiters: { revision: number; resolve: () => void }[] = [];
  /**
   * While a snapshot is read: the revision of each delete the watch applied. The snapshot
   * may bring an older entry of such a key afterwards (it read the key before the delete),
   * which must not bring the key back.
   */
  let deletedDuringSnapshot: Map<string, number> | undefined;
  const advance = (revision: number): void => {
    if (revision <= applied) return;
    applied = revision;
    if (waiters.length === 0) return;
    const ready = waiters.filter((w) => w.revision <= applied);
    waiters = waiters.filter((w) => w.revision > applied);
    for (const w of ready) w.resolve();
  };
  const set = (key: string, value: T, revision: number): void => {
    const current = values.get(key);
    values.set(key, { value, revision });
    opts.onChange?.(current?.value, value);
  };
  const drop = (key: string): void => {
    const current = values.get(key);
    if (!current) return;
    values.delete(key);
    opts.onChange?.(current.value, undefined);
  };
  /** Applies a watched change; only the watch, which brings revisions in order, advances. */
  const apply = (e: KvEntry): void => {
    const current = values.get(e.key);
    if (!current || current.revision < e.revision) {
      if (e.operation !== "PUT") {
        drop(e.key);
        deletedDuringSnapshot?.set(e.key, e.revision);
      } else {
        try {
          set(e.key, decode(e.value), e.revision);
        } catch (err) {
          opts.onError(err, `undecodable registry entry ${e.key} skipped`);
        }
      }
    }
    advance(e.revision);
  };
  const start = async (): Promise<void> => {
    const w = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    watch = w;
    void (async () => {
      for await (const e of w) {
        if (delayMs > 0) setTimeout(() => apply(e), delayMs);
        else apply(e);
      }
    })()
      .catch((err: unknown) => opts.onError(err, "registry watch failed"))
      .finally(() => {
        if (stopped || watch !== w) return;
        opts.onError(undefined, "registry watch ended; starting it again");
        restart(0);
      });
    try {
      await snapshot();
    } catch (err) {
      // Without its snapshot the watch is no mirror: stopped, so that a new start begins afresh.
      if (watch === w) watch = undefined;
      w.stop();
      throw err;
    }
  };
  /** Reads the snapshot and applies it, after the watch was started. */
  const snapshot = async (): Promise<void> => {
    // Everything up to this revision is either in the snapshot read below or brought by the
    // watch. Snapshot entries do not advance the mirror: the pass may run ahead of watched
    // changes still on their way, and skips what was overwritten.
    const atStart = await lastRevision(kv);
    const seen = new Set<string>();
    const deleted = new Map<string, number>();
    deletedDuringSnapshot = deleted;
    try {
      await opts.snapshot(atStart, (e) => {
        seen.add(e.key);
        const current = values.get(e.key)?.revision ?? 0;
        if (current >= e.revision || (deleted.get(e.key) ?? 0) >= e.revision) return;
        if (e.operation !== "PUT") drop(e.key);
        else {
          try {
            set(e.key, decode(e.value), e.revision);
          } catch (err) {
            opts.onError(err, `undecodable registry entry ${e.key} skipped`);
          }
        }
      });
    } finally {
      if (deletedDuringSnapshot === deleted) deletedDuringSnapshot = undefined;
    }
    // After a restart, keys gone meanwhile (expired with the bucket's max age) are not in the snapshot.
    for (const key of [...values.keys()]) if (!seen.has(key) && (values.get(key)?.revision ?? 0) <= atStart) drop(key);
    advance(atStart);
  };
  /**
   * Starts again after a failed watch, until it works: a mirror without a watch would answer
   * reads from a copy that never moves. Failures back off up to 5 s.
   */
  const restart = (failures: number): void => {
    setTimeout(
      () => {
        if (stopped) return;
        start().catch((err: unknown) => {
          opts.onError(err, "registry watch restart failed; trying again");
          restart(failures + 1);
        });
      },
      Math.min(250 * 2 ** failures, 5_000),
    );
  };
  // The first start is retried for a while too: while a NATS server is lost, a cluster may
  // still place the watch's consumer on it for some seconds (its creation then times out).
  const began = Date.now();
  for (let failures = 0; ; failures++) {
    try {
      await start();
      break;
    } catch (err) {
      if (Date.now() - began + 250 * 2 ** failures > startRetryMs) throw err;
      opts.onError(err, "registry mirror not started; trying again");
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** failures, 5_000)));
    }
  }

  // Reads that start while a revision request is still unsent share it; one sent later
  // serves only later reads, so a shared answer is never older than any read it serves.
  let next: Promise<number> | undefined;
  const target = (): Promise<number> => {
    next ??= (async () => {
      await Promise.resolve();
      next = undefined;
      return lastRevision(kv);
    })();
    return next;
  };
  const catchUp = async (timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    let waiter: { revision: number; resolve: () => void } | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const reached = (async () => {
      const revision = await target();
      if (revision <= applied) return;
      await new Promise<void>((resolve) => waiters.push((waiter = { revision, resolve })));
    })();
    try {
      await Promise.race([reached, timeout]);
    } finally {
      clearTimeout(timer);
      if (waiter) waiters = waiters.filter((w) => w !== waiter);
    }
  };
  return {
    values,
    catchUp,
    stop: () => {
      stopped = true;
      watch?.stop();
      for (const w of waiters) w.resolve();
      waiters = [];
    },
  };
}

