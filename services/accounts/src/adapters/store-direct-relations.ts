import type { Client } from "@connectrpc/connect";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { DirectRelations } from "../domain/direct-relations.js";

/** DirectRelations over the store's internal SetDirectRelation; its errors pass through as they are. */
export function storeDirectRelations(store: Client<typeof StoreService>): DirectRelations {
  return {
    async set(userId, peerUserId, state) {
      await store.setDirectRelation({ userId, peerUserId, blocking: state.blocking, contact: state.contact });
    },
  };
}
