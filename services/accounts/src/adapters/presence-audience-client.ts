import type { Client } from "@connectrpc/connect";
import type { Logger } from "@messenger/logging";
import type { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import type { PresenceAudience } from "../domain/presence-audience.js";

/**
 * The deadline of one AudienceChanged. A contacts change awaits it under the pair's lock, so
 * the transport's default (10 s) would hold every later change of the pair that long while
 * presence is slow; presence is advisory, and a viewer it was not told of sees right on
 * their next GetPresence.
 */
export const audienceChangedTimeoutMs = 1_000;

/** The most viewer ids presence takes in each list of one AudienceChanged (it refuses more). */
export const maxViewersPerCall = 10_000;

/**
 * PresenceAudience over presence's internal AudienceChanged: the viewers are sent in calls
 * of at most maxViewersPerCall gained and as many lost ids, one after another; a failure is
 * logged, not thrown, and the calls left are still made (each concerns other viewers).
 */
export function presenceAudienceClient(presence: Client<typeof PresenceAudienceService>, log: Logger): PresenceAudience {
  return {
    async changed(userId, gained, lost) {
      for (let at = 0; at < gained.length || at < lost.length; at += maxViewersPerCall) {
        const gainedViewerIds = gained.slice(at, at + maxViewersPerCall);
        const lostViewerIds = lost.slice(at, at + maxViewersPerCall);
        try {
          await presence.audienceChanged({ userId, gainedViewerIds, lostViewerIds }, { timeoutMs: audienceChangedTimeoutMs });
        } catch (err) {
          log.warn({ err, userId, gained: gainedViewerIds.length, lost: lostViewerIds.length }, "presence was not told whose sight of the user changed");
        }
      }
    },
  };
}
