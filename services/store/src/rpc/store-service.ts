import { route, type ServiceRoute } from "@messenger/rpc";
import { StoreService, type ApplyGroupChangeRequest } from "@messenger/proto/store/v1/store_service";
import { appendMessages } from "../domain/append-messages.js";
import { applyGroupChange } from "../domain/apply-group-change.js";
import { pushContext } from "../domain/push-context.js";
import { invalidArgument } from "../domain/errors.js";
import type { GroupChange } from "../domain/group-change.js";
import { getGroupState, getMemberRanges, listMembers } from "../domain/group-state.js";
import { limits } from "../domain/limits.js";
import { canSeeMedia, findMediaReferences, isMember } from "../domain/media-access.js";
import { setConversationRetention } from "../domain/retention.js";
import { readMessages } from "../domain/read-messages.js";
import { setDirectRelation } from "../domain/set-direct-relation.js";
import { syncDevice } from "../domain/sync.js";
import { updateCursor } from "../domain/update-cursor.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import {
  bodyFromSend,
  conversationKindToProto,
  creationRetentionFromProto,
  memberStateToProto,
  messageToProto,
  msFromTimestamp,
  rangeToProto,
  receiptToProto,
  retentionModeFromProto,
  seqFromWire,
  settableRoleFromProto,
  summaryToProto,
} from "./convert.js";
import { clampPageSize } from "../domain/page-token.js";
import { itemStatus } from "./domain-status.js";

function groupChangeFromProto(req: ApplyGroupChangeRequest): GroupChange {
  const c = req.change;
  switch (c.case) {
    case "create":
      return {
        kind: "create",
        title: c.value.title,
        description: c.value.description,
        memberUserIds: c.value.memberUserIds,
        retention: creationRetentionFromProto(c.value.retention, "create.retention"),
      };
    case "addMembers":
      return { kind: "addMembers", userIds: c.value.userIds };
    case "removeMember":
      return { kind: "removeMember", userId: c.value.userId };
    case "leave":
      return { kind: "leave" };
    case "setRole": {
      const role = settableRoleFromProto(c.value.role);
      if (!role) throw invalidArgument("set_role.role must be MEMBER_ROLE_MEMBER or MEMBER_ROLE_ADMIN");
      return { kind: "setRole", userId: c.value.userId, role };
    }
    case "transferOwnership":
      return { kind: "transferOwnership", toUserId: c.value.toUserId };
    case "updateInfo":
      return { kind: "updateInfo", title: c.value.title, description: c.value.description };
    default:
      throw invalidArgument("a change is required");
  }
}

/** Bounds of the push outbox RPCs: a relay's batch, and how long it may hold a lease. */
const maxOutboxBatch = 1_000;
const maxOutboxLeaseMs = 600_000;

/**
 * The internal store API used by the router, the gateways and the groups service. Every
 * request names the user (and device) it acts for in its body; nothing is read from metadata.
 */
export function storeRoute(deps: { repo: HistoryRepository; now: () => number; largeGroupThreshold: number }): ServiceRoute {
  const { repo } = deps;
  return route(
    StoreService,
    {
      async appendMessages(req) {
        const results = await appendMessages(
          repo,
          req.items.map((item) => {
            const m = item.message;
            return {
              conversationId: m?.conversationId ?? "",
              clientMessageId: m?.clientMessageId ?? "",
              body: m ? bodyFromSend(m) : undefined,
              replyToSeq: m ? seqFromWire(m.replyToSeq) : 0,
              clientSentAt: msFromTimestamp(m?.clientSentAt),
              senderUserId: item.senderUserId,
              senderDeviceId: item.senderDeviceId,
            };
          }),
          deps.now(),
        );
        return {
          results: results.map((r) =>
            r.ok
              ? { message: messageToProto(r.message), duplicate: r.duplicate, memberVersion: BigInt(r.memberVersion), memberCount: r.memberCount }
              : itemStatus(r.error, "message not stored: send it again with the same client message id"),
          ),
        };
      },
      async updateCursors(req) {
        // Each on its own; made together, their writes share one commit.
        const results = await Promise.all(
          req.items.map(async (item) => {
            try {
              const r = await updateCursor(repo, {
                conversationId: item.conversationId,
                userId: item.userId,
                deviceId: item.deviceId,
                deliveredSeq: seqFromWire(item.deliveredSeq),
                readSeq: seqFromWire(item.readSeq),
              });
              return {
                changed: r.changed,
                receipt: receiptToProto(r.receipt),
                receiptsVersion: BigInt(r.receiptsVersion),
                summary: summaryToProto(r.summary),
                memberVersion: BigInt(r.memberVersion),
              };
            } catch (err) {
              return itemStatus(err, "watermark not recorded: send it again");
            }
          }),
        );
        return { results };
      },
      async sync(req) {
        const page = await syncDevice(repo, {
          userId: req.userId,
          deviceId: req.deviceId,
          cursors: new Map(req.cursors.map((c) => [c.conversationId, { seq: seqFromWire(c.seq), receiptsVersion: seqFromWire(c.receiptsVersion) }])),
          // Internal callers are trusted, but a page is still bounded.
          maxMessages: clampPageSize(req.maxMessages, limits.defaultSyncMaxMessages, limits.maxSyncMessages),
          maxReplayPerConversation: clampPageSize(req.maxReplayPerConversation, limits.defaultSyncMaxReplay, limits.maxSyncReplay),
          pageToken: req.pageToken,
          largeGroupThreshold: deps.largeGroupThreshold,
        });
        return {
          nextPageToken: page.nextPageToken,
          conversations: page.conversations.map((c) => ({
            conversationId: c.conversationId,
            messages: c.messages.map(messageToProto),
            receipts: c.receipts.map(receiptToProto),
            reset: c.reset,
            lastSeq: BigInt(c.lastSeq),
            receiptsVersion: BigInt(c.receiptsVersion),
            ...(c.summary ? { summary: summaryToProto(c.summary) } : {}),
            large: c.large,
            unchanged: c.unchanged,
          })),
        };
      },
      async readMessages(req) {
        const r = await readMessages(repo, {
          userId: req.userId,
          conversationId: req.conversationId,
          afterSeq: seqFromWire(req.afterSeq),
          beforeSeq: seqFromWire(req.beforeSeq),
          limit: req.limit,
        });
        return { messages: r.messages.map(messageToProto), lastSeq: BigInt(r.lastSeq) };
      },
      async getMemberRanges(req) {
        const r = await getMemberRanges(repo, req.conversationId, seqFromWire(req.knownMemberVersion));
        return { memberVersion: BigInt(r.memberVersion), unchanged: r.unchanged, ranges: r.ranges.map(rangeToProto), memberCount: r.memberCount, blocked: r.blocked };
      },
      async getGroupState(req) {
        const { conversation: c, members } = await getGroupState(repo, req.conversationId, req.userIds);
        return {
          kind: conversationKindToProto(c.kind),
          title: c.title,
          description: c.description,
          memberVersion: BigInt(c.memberVersion),
          memberCount: c.memberCount,
          members: members.map(memberStateToProto),
          lastSeq: BigInt(c.lastSeq),
        };
      },
      async applyGroupChange(req) {
        const r = await applyGroupChange(repo, {
          conversationId: req.conversationId,
          actorUserId: req.actorUserId,
          expectedMemberVersion: seqFromWire(req.expectedMemberVersion),
          change: groupChangeFromProto(req),
          now: deps.now(),
        });
        return { event: messageToProto(r.event), memberVersion: BigInt(r.memberVersion), memberCount: r.memberCount };
      },
      async listMembers(req) {
        const r = await listMembers(repo, { conversationId: req.conversationId, pageSize: req.pageSize, pageToken: req.pageToken });
        return { members: r.members.map(memberStateToProto), nextPageToken: r.nextPageToken, memberCount: r.memberCount };
      },
      async setDirectRelation(req) {
        await setDirectRelation(repo, { userId: req.userId, peerUserId: req.peerUserId, blocking: req.blocking, contact: req.contact });
        return {};
      },
      async isMember(req) {
        return { member: await isMember(repo, req.conversationId, req.userId) };
      },
      async checkMediaAccess(req) {
        return { visible: await canSeeMedia(repo, req.userId, req.mediaId) };
      },
      async findMediaReferences(req) {
        return { referencedMediaIds: await findMediaReferences(repo, req.mediaIds) };
      },
      async setRetention(req) {
        const mode = req.retention ? retentionModeFromProto(req.retention.mode) : undefined;
        if (!mode) throw invalidArgument("retention.mode must be RETENTION_MODE_PERMANENT, RETENTION_MODE_STORE_AND_FORWARD or RETENTION_MODE_DISAPPEARING");
        const r = await setConversationRetention(repo, {
          conversationId: req.conversationId,
          actorUserId: req.actorUserId,
          retention: { mode, ttlSeconds: req.retention?.ttlSeconds ?? 0 },
          now: deps.now(),
        });
        return { event: messageToProto(r.event), memberVersion: BigInt(r.memberVersion) };
      },
      async claimPushOutbox(req) {
        if (req.leaseMs < 1 || req.leaseMs > maxOutboxLeaseMs) throw invalidArgument(`lease_ms must be 1 to ${maxOutboxLeaseMs}`);
        if (req.limit < 1 || req.limit > maxOutboxBatch) throw invalidArgument(`limit must be 1 to ${maxOutboxBatch}`);
        const r = await repo.claimPushOutbox(deps.now(), req.leaseMs, Number(req.olderThanMs), req.limit);
        return {
          entries: r.entries.map((e) => ({ conversationId: e.conversationId, seq: BigInt(e.seq), messageId: e.messageId, senderUserId: e.senderUserId, sentAtMs: BigInt(e.sentAt) })),
          oldestSentAtMs: BigInt(r.oldestSentAt ?? 0),
        };
      },
      async getPushContext(req) {
        const c = await pushContext(repo, { userId: req.userId, conversationId: req.conversationId, seq: seqFromWire(req.seq), deviceIds: req.deviceIds, withPreview: req.withPreview });
        return {
          deliveredSeqs: Object.fromEntries([...c.deliveredSeqs].map(([d, seq]) => [d, BigInt(seq)])),
          unreadCount: Math.min(c.unreadCount, 0xffff_ffff),
          previewSenderUserId: c.preview?.senderUserId ?? "",
          previewText: c.preview?.text ?? "",
        };
      },
      async ackPushOutbox(req) {
        if (req.keys.length > maxOutboxBatch) throw invalidArgument(`at most ${maxOutboxBatch} keys`);
        await repo.ackPushOutbox(req.keys.map((k) => ({ conversationId: k.conversationId, seq: seqFromWire(k.seq) })));
        return {};
      },
    },
    "internal",
  );
}
