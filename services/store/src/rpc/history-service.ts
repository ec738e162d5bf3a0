import { type Client } from "@connectrpc/connect";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { Direction, Folder, HistoryService } from "@messenger/proto/history/v1/history_service";
import { notFound } from "../domain/errors.js";
import { getConversation } from "../domain/get-conversation.js";
import { listInbox } from "../domain/list-inbox.js";
import { listMessages } from "../domain/list-messages.js";
import { listReadBy } from "../domain/list-read-by.js";
import { requireId } from "../domain/membership.js";
import { acceptMessageRequest, deleteMessageRequest } from "../domain/message-requests.js";
import { openDirectConversation } from "../domain/open-direct-conversation.js";
import { checkRetention } from "../domain/retention.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { conversationViewToProto, creationRetentionFromProto, messageToProto, seqFromWire } from "./convert.js";

/** The public history API: authenticates the caller, translates proto <-> domain, nothing else. */
export function historyRoute(deps: {
  repo: HistoryRepository;
  verifier: TokenVerifier;
  relations: Client<typeof RelationsService>;
  now: () => number;
  largeGroupThreshold: number;
}): ServiceRoute {
  const { repo, verifier, largeGroupThreshold } = deps;
  return route(
    HistoryService,
    {
      async openDirectConversation(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        requireId(req.peerUserId, "peer_user_id");
        // Checked before asking accounts, like the peer's id: a bad request costs no call.
        const retention = checkRetention(creationRetentionFromProto(req.retention, "retention"));
        // Accounts says whether the peer exists and where a new conversation lands for them.
        // That answer may be stale by the time the writer runs (the pair may become contacts
        // in between), so the writer corrects it from the store's own record of the pair,
        // and checks there whether the peer blocks the caller.
        let peerLandsInRequests = false;
        if (req.peerUserId !== me.userId) {
          const { relations } = await deps.relations.getRelations({ userId: me.userId, peerUserIds: [req.peerUserId] }, { signal: ctx.signal });
          const relation = relations.find((r) => r.peerUserId === req.peerUserId);
          if (!relation?.exists) throw notFound(`user ${req.peerUserId} not found`);
          peerLandsInRequests = relation.landsInRequests;
        }
        const view = await openDirectConversation(repo, me.userId, req.peerUserId, deps.now(), peerLandsInRequests, largeGroupThreshold, retention);
        return { conversation: conversationViewToProto(view) };
      },
      async listConversations(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        const folder = req.folder === Folder.REQUESTS ? "requests" : "inbox";
        const page = await listInbox(repo, me.userId, folder, req.pageSize, req.pageToken, largeGroupThreshold);
        return { conversations: page.items.map(conversationViewToProto), nextPageToken: page.nextPageToken };
      },
      async acceptMessageRequest(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        return { conversation: conversationViewToProto(await acceptMessageRequest(repo, me.userId, req.conversationId, largeGroupThreshold)) };
      },
      async deleteMessageRequest(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        await deleteMessageRequest(repo, me.userId, req.conversationId);
        return {};
      },
      async listMessages(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        const page = await listMessages(repo, me.userId, {
          conversationId: req.conversationId,
          anchorSeq: seqFromWire(req.anchorSeq),
          direction: req.direction === Direction.FORWARD ? "forward" : "backward",
          pageSize: req.pageSize,
        });
        return { messages: page.messages.map(messageToProto), hasMore: page.hasMore, lastSeq: BigInt(page.lastSeq), minSeq: BigInt(page.minSeq) };
      },
      async getConversation(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        return { conversation: conversationViewToProto(await getConversation(repo, me.userId, req.conversationId, largeGroupThreshold)) };
      },
      async listReadBy(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        const page = await listReadBy(repo, me.userId, {
          conversationId: req.conversationId,
          seq: seqFromWire(req.seq),
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return { userIds: page.userIds, readCount: page.readCount, memberCount: page.memberCount, nextPageToken: page.nextPageToken };
      },
    },
    "public",
  );
}
