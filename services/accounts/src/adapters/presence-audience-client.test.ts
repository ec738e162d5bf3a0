import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createLogger } from "@messenger/logging";
import { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import { describe, expect, it } from "vitest";
import { audienceChangedTimeoutMs, maxViewersPerCall, presenceAudienceClient } from "./presence-audience-client.js";

/** One AudienceChanged as presence received it, with the deadline it was given. */
interface Received {
  userId: string;
  gained: string[];
  lost: string[];
  timeoutMs: number | undefined;
}

/** The client over an in-memory presence that records each call, and refuses those `refuse` picks. */
function presenceThatRecords(refuse: (n: number) => boolean = () => false) {
  const received: Received[] = [];
  const presence = createClient(
    PresenceAudienceService,
    createRouterTransport((r) =>
      r.service(PresenceAudienceService, {
        audienceChanged(req, ctx) {
          received.push({ userId: req.userId, gained: req.gainedViewerIds, lost: req.lostViewerIds, timeoutMs: ctx.timeoutMs() });
          if (refuse(received.length)) throw new ConnectError("presence is busy", Code.Unavailable);
          return {};
        },
      }),
    ),
  );
  return { received, client: presenceAudienceClient(presence, createLogger("presence-audience-client-test", "silent")) };
}

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("presenceAudienceClient", () => {
  it("gives each call a deadline of its own, far below the transport's 10 s", async () => {
    const { received, client } = presenceThatRecords();
    await client.changed("ann", ["bob"], []);
    expect(received).toHaveLength(1);
    const { timeoutMs } = received[0]!;
    expect(timeoutMs).toBeGreaterThan(0);
    expect(timeoutMs).toBeLessThanOrEqual(audienceChangedTimeoutMs);
  });

  it("sends at most 10,000 ids of each list per call, every viewer once, and goes on past a call presence refuses", async () => {
    expect(maxViewersPerCall).toBe(10_000);
    const gained = ids("g", 25_001);
    const lost = ids("l", 10_003);
    const { received, client } = presenceThatRecords((n) => n === 1);
    await client.changed("ann", gained, lost);
    expect(received.map((r) => [r.userId, r.gained.length, r.lost.length])).toEqual([
      ["ann", 10_000, 10_000],
      ["ann", 10_000, 3],
      ["ann", 5_001, 0],
    ]);
    expect(received.flatMap((r) => r.gained)).toEqual(gained);
    expect(received.flatMap((r) => r.lost)).toEqual(lost);
  });
});
