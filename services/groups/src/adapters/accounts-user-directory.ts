import type { Client } from "@connectrpc/connect";
import type { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import type { UserDirectory } from "../domain/group-ports.js";
import { peerHeaders, type PeerCall } from "./peer-call.js";

/** Ids per GetUsers call (the accounts API takes at most 500). */
export const getUsersBatch = 500;

/**
 * The accounts service as a UserDirectory for one incoming call. GetUsers needs an access
 * token, so the caller's own is passed on: the lookup is exactly what the caller may see.
 */
export function accountsUserDirectory(accounts: Client<typeof AccountsService>, call: PeerCall): UserDirectory {
  const headers = peerHeaders(call, true);
  return {
    async unknownUsers(userIds) {
      const batches: string[][] = [];
      for (let i = 0; i < userIds.length; i += getUsersBatch) batches.push(userIds.slice(i, i + getUsersBatch));
      const found = new Set<string>();
      const pages = await Promise.all(batches.map((userIds) => accounts.getUsers({ userIds }, { headers, signal: call.signal })));
      for (const page of pages) for (const u of page.users) found.add(u.id);
      return userIds.filter((u) => !found.has(u));
    },
  };
}
