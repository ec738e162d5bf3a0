import type { Client } from "@connectrpc/connect";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import type { UserDirectory } from "../domain/group-ports.js";
import { peerHeaders, type PeerCall } from "./peer-call.js";

/** Peers per GetRelations call (the relations API takes at most 1000). */
export const relationsBatch = 1000;

/** The accounts' internal relations API as a UserDirectory for one incoming call. */
export function accountsUserDirectory(relations: Client<typeof RelationsService>, call: PeerCall): UserDirectory {
  const headers = peerHeaders(call, false);
  return {
    async screenForAdding(actorUserId, userIds) {
      const batches: string[][] = [];
      for (let i = 0; i < userIds.length; i += relationsBatch) batches.push(userIds.slice(i, i + relationsBatch));
      const pages = await Promise.all(batches.map((peerUserIds) => relations.getRelations({ userId: actorUserId, peerUserIds }, { headers, signal: call.signal })));
      const unknown: string[] = [];
      const blockingActor: string[] = [];
      for (const page of pages) {
        for (const r of page.relations) {
          if (!r.exists) unknown.push(r.peerUserId);
          else if (r.blockedBy) blockingActor.push(r.peerUserId);
        }
      }
      return { unknown, blockingActor };
    },
  };
}
