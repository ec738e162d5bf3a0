import type { Client } from "@connectrpc/connect";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { ConversationAccess } from "../domain/ports.js";

/** The store's internal API as the media service's view of members and messages. */
export function storeConversationAccess(store: Client<typeof StoreService>): ConversationAccess {
  return {
    async isMember(conversationId, userId) {
      return (await store.isMember({ conversationId, userId })).member;
    },
    async canSee(userId, mediaId) {
      return (await store.checkMediaAccess({ userId, mediaId })).visible;
    },
    async referenced(mediaIds) {
      return new Set((await store.findMediaReferences({ mediaIds: [...mediaIds] })).referencedMediaIds);
    },
  };
}
