import type { Client } from "@connectrpc/connect";
import type { Logger } from "@messenger/logging";
import type { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import type { PresenceAudience } from "../domain/presence-audience.js";

/** PresenceAudience over presence's internal AudienceChanged; a failure is logged, not thrown. */
export function presenceAudienceClient(presence: Client<typeof PresenceAudienceService>, log: Logger): PresenceAudience {
  return {
    async changed(userId, gained, lost) {
      try {
        await presence.audienceChanged({ userId, gainedViewerIds: [...gained], lostViewerIds: [...lost] });
      } catch (err) {
        log.warn({ err, userId }, "presence was not told whose sight of the user changed");
      }
    },
  };
}
