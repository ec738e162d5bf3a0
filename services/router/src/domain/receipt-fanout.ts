import type { Logger } from "@messenger/logging";
import type { MemberReceipt, ReceiptSummary } from "@messenger/proto/chat/v1/types";
import { currentMembers } from "./member-ranges.js";
import type { MembershipCache } from "./membership-cache.js";
import { OrderedWork } from "./ordered-work.js";
import { SessionIndex } from "./session-index.js";
import type { Frame, PublishToGateway, SessionLookup } from "./ports.js";

/** A member's receipt that moved. */
export interface ReceiptMove {
  readonly conversationId: string;
  readonly receipt: MemberReceipt;
  readonly receiptsVersion: bigint;
  readonly summary: ReceiptSummary | undefined;
  readonly memberVersion: number;
  /** The session that moved it. */
  readonly excludeSessionId: string;
}

/** Receipt settings. */
export interface ReceiptSettings {
  readonly largeGroupThreshold: number;
  /** In a large group, summaries are pushed at most once per conversation per this window. */
  readonly largeGroupReceiptWindowMs: number;
}

/**
 * Tells the current members when a member's receipt moved. In a direct conversation or a
 * small group each move is pushed with the member's watermarks and the summary (so senders
 * see "delivered to all", "read by all" and can count "read by k of n"). In a large group the
 * moves are aggregated: only the summary is pushed, at most once per conversation per window,
 * and only when it changed.
 */
export class ReceiptFanout {
  private readonly work: OrderedWork;
  private readonly pendingSummaries = new Map<string, { summary: ReceiptSummary; receiptsVersion: bigint; memberVersion: number }>();
  private readonly lastSent = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { memberships: MembershipCache; sessions: SessionLookup; publish: PublishToGateway; log: Logger },
    private readonly settings: ReceiptSettings,
  ) {
    this.work = new OrderedWork((err) => deps.log.warn({ err }, "live receipt failed; members get it on sync"));
  }

  moved(moves: readonly ReceiptMove[]): void {
    if (moves.length === 0) return;
    this.work.add(
      async () =>
        Promise.all(
          moves.map(async (m) => {
            const membership = await this.deps.memberships.atLeast(m.conversationId, m.memberVersion);
            return { m, members: currentMembers(membership), large: membership.memberCount > this.settings.largeGroupThreshold };
          }),
        ),
      (targets) => {
        const small = targets.filter((t) => !t.large);
        for (const { m } of targets.filter((t) => t.large)) this.queueSummary(m);
        if (small.length > 0) void this.push(small.map(({ m, members }) => ({ members, exclude: m.excludeSessionId, frame: receiptFrame(m) })));
      },
    );
  }

  /** Stops the summary timer (pending summaries are dropped: members get them on sync). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private queueSummary(m: ReceiptMove): void {
    if (!m.summary) return;
    this.pendingSummaries.set(m.conversationId, { summary: m.summary, receiptsVersion: m.receiptsVersion, memberVersion: m.memberVersion });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flushSummaries();
    }, this.settings.largeGroupReceiptWindowMs);
  }

  private async flushSummaries(): Promise<void> {
    const pending = [...this.pendingSummaries];
    this.pendingSummaries.clear();
    const sends: { members: string[]; exclude: string; frame: Frame }[] = [];
    for (const [conversationId, p] of pending) {
      const key = `${p.summary.memberCount}:${p.summary.deliveredAllSeq}:${p.summary.readAllSeq}`;
      if (this.lastSent.get(conversationId) === key) continue;
      this.lastSent.set(conversationId, key);
      if (this.lastSent.size > 20_000) this.lastSent.delete(this.lastSent.keys().next().value!);
      try {
        const membership = await this.deps.memberships.atLeast(conversationId, p.memberVersion);
        sends.push({
          members: currentMembers(membership),
          exclude: "",
          frame: { frame: { case: "receiptSummary", value: { conversationId, summary: p.summary, receiptsVersion: p.receiptsVersion } } },
        });
      } catch (err) {
        this.deps.log.warn({ err, conversationId }, "receipt summary not pushed; members get it on sync");
      }
    }
    await this.push(sends);
  }

  private async push(sends: readonly { members: string[]; exclude: string; frame: Frame }[]): Promise<void> {
    try {
      const sessions = new SessionIndex(await this.deps.sessions.sessionsOf([...new Set(sends.flatMap((s) => s.members))]));
      for (const send of sends) {
        for (const [gatewayId, userIds] of sessions.byGateway(send.members, send.exclude)) this.deps.publish(gatewayId, userIds, send.frame, send.exclude);
      }
    } catch (err) {
      this.deps.log.warn({ err }, "live receipts failed; members get them on sync");
    }
  }
}

function receiptFrame(m: ReceiptMove): Frame {
  return {
    frame: {
      case: "receipt",
      value: { conversationId: m.conversationId, receipt: m.receipt, receiptsVersion: m.receiptsVersion, ...(m.summary ? { summary: m.summary } : {}) },
    },
  };
}
