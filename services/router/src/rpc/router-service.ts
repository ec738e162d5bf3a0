import type { Client } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { RouterService, type SendItemResultSchema } from "@messenger/proto/router/v1/router_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { MessageDelivery } from "../domain/deliver-messages.js";
import type { MembershipCache } from "../domain/membership-cache.js";
import type { PublishToGateway, SessionLookup } from "../domain/ports.js";
import type { ReadMoved } from "../domain/read-pushes.js";
import type { ReceiptFanout } from "../domain/receipt-fanout.js";
import { resolveMediaBodies, type ResolveMedia } from "../domain/resolve-media.js";
import { setTyping } from "../domain/typing.js";

type SendItemResultInit = MessageInitShape<typeof SendItemResultSchema>;

/** What the router's handlers use. */
export interface RouterHandlerDeps {
  readonly store: Client<typeof StoreService>;
  readonly delivery: MessageDelivery;
  readonly receipts: ReceiptFanout;
  readonly memberships: MembershipCache;
  readonly sessions: SessionLookup;
  readonly publish: PublishToGateway;
  readonly largeGroupThreshold: number;
  /** Vouches for the media references of messages about to be stored. */
  readonly resolveMedia: ResolveMedia;
  /** Tells the push worker of reads that moved a user's read watermark (badge updates). */
  readonly readMoved?: (reads: readonly ReadMoved[]) => void;
}

/**
 * The send path: the store authorizes, sequences and durably stores; the answer goes back
 * at once, and delivery follows off that path (MessageDelivery). A duplicate is delivered
 * again: the store reports one when an earlier attempt was stored but perhaps never
 * delivered (its router died first), and gateways drop what a session already has.
 */
export function routerRoute(deps: RouterHandlerDeps): ServiceRoute {
  const { store } = deps;
  return route(
    RouterService,
    {
      async sendMessages(req, ctx) {
        await deps.delivery.roomFor();
        const resolved = await resolveMediaBodies(
          req.items.map((i) => ({ message: i.message, senderUserId: i.sender?.userId ?? "", senderDeviceId: i.sender?.deviceId ?? "" })),
          deps.resolveMedia,
        );
        const toStore = resolved.items.flatMap((item, index) => (item ? [{ item, index }] : []));
        const res = toStore.length > 0 ? await store.appendMessages({ items: toStore.map((s) => s.item) }, { signal: ctx.signal }) : { results: [] };
        const results: SendItemResultInit[] = new Array<SendItemResultInit>(req.items.length);
        for (const r of resolved.refused) results[r.index] = { errorCode: r.errorCode, errorMessage: r.errorMessage };
        res.results.forEach((r, k) => {
          results[toStore[k]!.index] = { message: r.message, duplicate: r.duplicate, errorCode: r.errorCode, errorMessage: r.errorMessage };
        });
        deps.delivery.deliver(
          res.results.flatMap((r, k) =>
            r.message ? [{ message: r.message, memberVersion: Number(r.memberVersion), excludeSessionId: req.items[toStore[k]!.index]?.sender?.sessionId ?? "" }] : [],
          ),
        );
        return { results };
      },
      async deliverMessages(req) {
        deps.delivery.deliver(req.messages.map((message) => ({ message, memberVersion: 0, excludeSessionId: "" })));
        return {};
      },
      async updateCursors(req, ctx) {
        const res = await store.updateCursors(
          {
            items: req.items.map((i) => ({
              conversationId: i.conversationId,
              deliveredSeq: i.deliveredSeq,
              readSeq: i.readSeq,
              userId: i.sender?.userId ?? "",
              deviceId: i.sender?.deviceId ?? "",
            })),
          },
          { signal: ctx.signal },
        );
        deps.receipts.moved(
          res.results.flatMap((r, i) => {
            const item = req.items[i]!;
            if (!r.changed || !r.receipt) return [];
            return [
              {
                conversationId: item.conversationId,
                receipt: r.receipt,
                receiptsVersion: r.receiptsVersion,
                summary: r.summary,
                memberVersion: Number(r.memberVersion),
                excludeSessionId: item.sender?.sessionId ?? "",
              },
            ];
          }),
        );
        deps.readMoved?.(
          res.results.flatMap((r, i) => {
            const item = req.items[i]!;
            // This device's read mark is now the user's: the user's other devices hear of it.
            if (!r.changed || !r.receipt || item.readSeq === 0n || r.receipt.readSeq !== item.readSeq) return [];
            return [{ userId: item.sender?.userId ?? "", conversationId: item.conversationId, readSeq: item.readSeq }];
          }),
        );
        return { results: res.results.map((r) => ({ receipt: r.receipt, errorCode: r.errorCode, errorMessage: r.errorMessage })) };
      },
      async setTyping(req) {
        await setTyping(deps, {
          userId: req.sender?.userId ?? "",
          sessionId: req.sender?.sessionId ?? "",
          conversationId: req.conversationId,
          typing: req.typing,
        });
        return {};
      },
    },
    "internal",
  );
}
