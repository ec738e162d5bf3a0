import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { Direction, HistoryService } from "@messenger/proto/history/v1/history_service";
import { listInbox } from "../domain/list-inbox.js";
import { listMessages } from "../domain/list-messages.js";
import type { HistoryRepository } from "../storage/history-repository.js";
import { conversationToProto, inboxItemToProto, messageToProto, seqFromWire } from "./convert.js";

/** The public history API: translates proto <-> domain, nothing else. */
export function historyRoute(deps: {
  repo: HistoryRepository;
  verifier: TokenVerifier;
  accounts: Client<typeof AccountsService>;
  now: () => number;
}): ServiceRoute {
  const { repo, verifier } = deps;
  return route(
    HistoryService,
    {
      async openDirectConversation(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        if (!req.peerUserId) throw new ConnectError("peer_user_id is required", Code.InvalidArgument);
        if (req.peerUserId === me.userId) throw new ConnectError("cannot open a direct conversation with yourself", Code.InvalidArgument);
        const found = await deps.accounts.getUsers(
          { userIds: [req.peerUserId] },
          { headers: { authorization: ctx.requestHeader.get("authorization") ?? "" }, signal: ctx.signal },
        );
        if (found.users.length === 0) throw new ConnectError(`user ${req.peerUserId} not found`, Code.NotFound);
        const conv = await repo.openDirect(me.userId, req.peerUserId, deps.now());
        const receipts = await repo.receipts(conv.id);
        const mine = receipts.find((r) => r.userId === me.userId);
        const [lastMessage] = conv.lastSeq > 0 ? await repo.listMessages(conv.id, { limit: 1, direction: "backward" }) : [];
        return { conversation: conversationToProto(conv, { lastMessage, receipts, unreadCount: conv.lastSeq - (mine?.readSeq ?? 0) }) };
      },
      async listConversations(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        const page = await listInbox(repo, me.userId, req.pageSize, req.pageToken);
        return { conversations: page.items.map(inboxItemToProto), nextPageToken: page.nextPageToken };
      },
      async listMessages(req, ctx) {
        const me = await authenticate(verifier, ctx.requestHeader);
        const page = await listMessages(repo, me.userId, {
          conversationId: req.conversationId,
          anchorSeq: seqFromWire(req.anchorSeq),
          direction: req.direction === Direction.FORWARD ? "forward" : "backward",
          pageSize: req.pageSize,
        });
        return { messages: page.messages.map(messageToProto), hasMore: page.hasMore, lastSeq: BigInt(page.lastSeq) };
      },
    },
    "public",
  );
}
