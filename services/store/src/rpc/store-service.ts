import { Code, ConnectError } from "@connectrpc/connect";
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
      async updateCursors(req) {
        // Each on its own; made together, their writes share one commit.
        const results = await Promise.all(
          req.items.map(async (item) => {
            try {
              if (!item.userId || !item.deviceId) throw new ConnectError("user and device are required", Code.InvalidArgument);
              const r = await updateCursor(repo, {
                conversationId: item.conversationId,
                userId: item.userId,
                deviceId: item.deviceId,
                deliveredSeq: seqFromWire(item.deliveredSeq),
                readSeq: seqFromWire(item.readSeq),
              });
              return { changed: r.changed, receipt: receiptToProto(r.receipt), memberUserIds: [...r.conversation.memberUserIds] };
            } catch (err) {
              const e = err instanceof ConnectError ? err : new ConnectError("watermark not recorded: send it again", Code.Unavailable);
              return { errorCode: e.code, errorMessage: e.rawMessage };
            }
          }),
        );
        return { results };
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
