import { RedeliverLaterError } from "@messenger/bus";
import type { PushCandidate } from "./push-candidate.js";
import type { PushDevice, PushNotification, PushProvider, PushRegistration, PushTargets, SendOutcome } from "./push-ports.js";
import type { SentMarks } from "./sent-marks.js";

/** What the worker asks of accounts. */
export interface PushTargetsSource {
  /** The user's registered devices and settings for the conversation, with the author's name. */
  get(userId: string, conversationId: string, senderUserId: string): Promise<PushTargets>;
  /** Deletes the device's registration if it is still this one (a provider said it is gone). */
  remove(userId: string, deviceId: string, registration: PushRegistration): Promise<void>;
}

/** What the worker asks of the store, in one call per candidate. */
export interface PushHistorySource {
  context(
    userId: string,
    conversationId: string,
    seq: bigint,
    deviceIds: readonly string[],
    withPreview: boolean,
  ): Promise<{
    /** The devices' delivered watermarks in the conversation (absent: nothing). */
    readonly deliveredSeqs: ReadonlyMap<string, bigint>;
    /** The user's unread messages over their inbox: the badge. */
    readonly unreadCount: number;
    /** The text for a preview; undefined when there is none to show (media, ciphertext, gone). */
    readonly previewText: string | undefined;
  }>;
}

/** What the worker reports (metrics). */
export interface PushEvents {
  sent(provider: PushRegistration["kind"], visible: boolean, queueToProviderMs: number | undefined): void;
  failed(provider: PushRegistration["kind"] | "none", reason: string): void;
  retried(provider: PushRegistration["kind"], status: number): void;
  skipped(reason: "live" | "delivered" | "already_sent" | "no_registration"): void;
  registrationRemoved(provider: PushRegistration["kind"]): void;
  deadLettered(reason: string): void;
}

export interface PushWorkerSettings {
  /** Deliveries of one queue message before it is dead-lettered. */
  readonly maxDeliveries: number;
  /** Backoff between deliveries: full jitter, doubling from base up to max, never below a Retry-After. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** How long a send's claim holds off other replicas. */
  readonly claimMs: number;
}

/** Ten deliveries with backoff up to 60 s: about five minutes of a provider's (or accounts', the store's) trouble before the dead letter. */
export const defaultPushWorkerSettings: PushWorkerSettings = { maxDeliveries: 10, backoffBaseMs: 1_000, backoffMaxMs: 60_000, claimMs: 60_000 };

/**
 * A device's provider said "later": the queue delivers the candidate again after `afterMs`
 * (never before its Retry-After) and meanwhile goes on with others. Nothing sleeps in a
 * delivery.
 */
export class RetryLaterError extends RedeliverLaterError {
  override readonly name = "RetryLaterError";
}

/** Full-jitter exponential backoff, never below what the provider asked for. */
export function backoffMs(attempt: number, retryAfterMs: number | undefined, s: Pick<PushWorkerSettings, "backoffBaseMs" | "backoffMaxMs">, random: () => number): number {
  return Math.max(retryAfterMs ?? 0, Math.floor(random() * redeliveryDelayMs(attempt, s)));
}

/** When a candidate whose delivery failed for another reason (accounts or the store unreachable) comes back. */
export function redeliveryDelayMs(attempt: number, s: Pick<PushWorkerSettings, "backoffBaseMs" | "backoffMaxMs">): number {
  return Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** (attempt - 1));
}

/**
 * The push worker's decision and sending, per device: a device that had a live session, or
 * whose delivered watermark already covers the message, gets nothing; every other registered
 * device gets one notification — visible unless the conversation is muted or the user is in
 * do-not-disturb (then a silent badge update), content-free unless previews are on — sent
 * once across redeliveries and replicas (SentMarks), given back to the queue on 429/5xx with a
 * jittered backoff never below the Retry-After (the queue goes on meanwhile), its
 * registration deleted on 404/410. A candidate delivered more
 * than `maxDeliveries` times is dead-lettered and acknowledged, so it never blocks the queue.
 */
export function createPushWorker(deps: {
  targets: PushTargetsSource;
  history: PushHistorySource;
  providers: ReadonlyMap<PushRegistration["kind"], PushProvider>;
  marks: SentMarks;
  deadLetter: (candidate: PushCandidate, reason: string) => Promise<void>;
  events: PushEvents;
  settings?: PushWorkerSettings;
  now?: () => number;
  random?: () => number;
}): { handle(candidate: PushCandidate, attempt: number): Promise<void> } {
  const s = deps.settings ?? defaultPushWorkerSettings;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;

  async function sendOne(c: PushCandidate, device: PushDevice, n: PushNotification, delivery: number): Promise<void> {
    const kind = device.registration.kind;
    const provider = deps.providers.get(kind);
    if (!provider) {
      deps.events.failed(kind, "provider_not_configured");
      return;
    }
    if (!(await deps.marks.claim(n.idempotencyKey, s.claimMs))) {
      deps.events.skipped("already_sent");
      return;
    }
    let outcome: SendOutcome;
    try {
      outcome = await provider.send(device.registration, n);
    } catch (err) {
      await deps.marks.release(n.idempotencyKey);
      throw err;
    }
    switch (outcome.outcome) {
      case "accepted":
        await deps.marks.confirm(n.idempotencyKey);
          deps.events.sent(kind, n.visible, c.storedAtMs > 0 ? now() - c.storedAtMs : undefined);
        return;
      case "gone":
        await deps.marks.confirm(n.idempotencyKey);
        await deps.targets.remove(c.userId, device.deviceId, device.registration);
        deps.events.registrationRemoved(kind);
        return;
      case "rejected":
        // Retrying would not help: counted, never sent again for this message.
        await deps.marks.confirm(n.idempotencyKey);
        deps.events.failed(kind, `rejected_${outcome.status}`);
        return;
      case "retry":
        deps.events.retried(kind, outcome.status);
        await deps.marks.release(n.idempotencyKey);
        throw new RetryLaterError(`${kind} answered ${outcome.status} (${outcome.reason}) for device ${device.deviceId}`, backoffMs(delivery, outcome.retryAfterMs, s, random));
    }
  }

  async function handle(c: PushCandidate, attempt: number): Promise<void> {
    if (attempt > s.maxDeliveries) {
      await deps.deadLetter(c, `not sent after ${s.maxDeliveries} deliveries`);
      deps.events.deadLettered("max_deliveries");
      return;
    }
    const targets = await deps.targets.get(c.userId, c.conversationId, c.senderUserId);
    const live = new Set(c.liveDeviceIds);
    const offline = targets.devices.filter((d) => !live.has(d.deviceId));
    for (let i = offline.length; i < targets.devices.length; i++) deps.events.skipped("live");
    if (targets.devices.length === 0) deps.events.skipped("no_registration");
    if (offline.length === 0) return;
    const visible = c.kind === "message" && !targets.muted && !targets.doNotDisturb;
    const context = await deps.history.context(c.userId, c.conversationId, c.seq, offline.map((d) => d.deviceId), visible && targets.previews);
    let owed = offline;
    if (c.kind === "message") {
      owed = offline.filter((d) => (context.deliveredSeqs.get(d.deviceId) ?? 0n) < c.seq);
      for (let i = owed.length; i < offline.length; i++) deps.events.skipped("delivered");
      if (owed.length === 0) return;
    }
    const badge = context.unreadCount;
    const preview = context.previewText === undefined ? undefined : { senderName: targets.senderName || c.senderUserId, text: context.previewText };
    const results = await Promise.allSettled(
      owed.map((device) =>
        sendOne(c, device, {
          kind: c.kind,
          visible,
          conversationId: c.conversationId,
          seq: c.seq,
          messageId: c.messageId,
          badge,
          collapseKey: c.conversationId,
          // Device ids are the client's choice: two users may both have a "phone".
          idempotencyKey: `${c.userId}:${device.deviceId}:${c.kind}:${c.messageId}`,
          ...(preview ? { preview } : {}),
        }, attempt),
      ),
    );
    // Devices that went out are marked; the queue brings the candidate back for the others,
    // after the longest wait a provider asked for.
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    const later = failures.filter((f): f is RetryLaterError => f instanceof RetryLaterError);
    if (failures.length > later.length) throw failures.find((f) => !(f instanceof RetryLaterError));
    if (later.length > 0) throw new RetryLaterError(later.map((l) => l.message).join("; "), Math.max(...later.map((l) => l.afterMs)));
  }

  return { handle };
}
