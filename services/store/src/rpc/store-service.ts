import { callerFromHeaders, route, type ServiceRoute } from "@messenger/rpc";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { appendMessages } from "../domain/append-messages.js";
import { requireMember } from "../domain/membership.js";
import { syncDevice } from "../domain/sync.js";
import { updateCursor } from "../domain/update-cursor.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { messageToProto, receiptToProto, seqFromWire } from "./convert.js";

/** The internal store API used by the router and gateways; the caller is in metadata. */
export function storeRoute(deps: { repo: HistoryRepository; now: () => number }): ServiceRoute {
  const { repo } = deps;
  return route(
    StoreService,
    {
      async appendMessages(req) {
        const results = await appendMessages(repo, req.items, deps.now());
        return {
          results: results.map((r) =>
            r.ok
              ? { message: messageToProto(r.message), duplicate: r.duplicate, memberUserIds: [...r.conversation.memberUserIds] }
              : { errorCode: r.error.code, errorMessage: r.error.rawMessage },
          ),
        };
      },
      async updateCursor(req, ctx) {
        const caller = callerFromHeaders(ctx.requestHeader);
        const r = await updateCursor(repo, {
          conversationId: req.conversationId,
          userId: caller.userId,
          deviceId: caller.deviceId,
          deliveredSeq: seqFromWire(req.deliveredSeq),
          readSeq: seqFromWire(req.readSeq),
        });
        return { changed: r.changed, receipt: receiptToProto(r.receipt), memberUserIds: [...r.conversation.memberUserIds] };
      },
      async sync(req, ctx) {
        const caller = callerFromHeaders(ctx.requestHeader);
        const page = await syncDevice(repo, {
          userId: caller.userId,
          deviceId: caller.deviceId,
          sinceVersion: seqFromWire(req.sinceVersion),
          cursors: new Map(req.cursors.map((c) => [c.conversationId, seqFromWire(c.seq)])),
          maxMessages: req.maxMessages || 500,
          maxReplayPerConversation: req.maxReplayPerConversation || 1000,
        });
        return {
          version: BigInt(page.version),
          complete: page.complete,
          conversations: page.conversations.map((c) => ({
            conversationId: c.conversationId,
            messages: c.messages.map(messageToProto),
            receipts: c.receipts.map(receiptToProto),
            reset: c.reset,
            lastSeq: BigInt(c.lastSeq),
          })),
        };
      },
      async getMembers(req, ctx) {
        const caller = callerFromHeaders(ctx.requestHeader);
        const conv = await requireMember(repo, req.conversationId, caller.userId);
        return { userIds: [...conv.memberUserIds] };
      },
      async listContacts(_req, ctx) {
        const caller = callerFromHeaders(ctx.requestHeader);
        return { userIds: await repo.contactsOf(caller.userId) };
      },
    },
    "internal",
  );
}
