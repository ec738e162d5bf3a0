import type { Client } from "@connectrpc/connect";
import type { Logger } from "@messenger/logging";
import type { Message } from "@messenger/proto/chat/v1/types";
import type { RouterService } from "@messenger/proto/router/v1/router_service";
import type { EventDelivery } from "../domain/group-ports.js";
import { peerHeaders, type PeerCall } from "./peer-call.js";

/**
 * Live delivery through the router's DeliverMessages, awaited for at most `timeoutMs`: the
 * caller's answer waits for a normal push but never for a stuck router. A push that fails
 * or runs out of time is logged, never returned: the event is committed and members get it
 * when they sync.
 */
export function routerEventDelivery(router: Client<typeof RouterService>, call: PeerCall, log: Logger, timeoutMs: number): EventDelivery<Message> {
  const headers = peerHeaders(call, false);
  return {
    async deliver(event) {
      const where = { conversationId: event.conversationId, seq: event.seq, requestId: call.requestId };
      let timer: NodeJS.Timeout | undefined;
      const pushed = router.deliverMessages({ messages: [event] }, { headers, timeoutMs, signal: AbortSignal.timeout(timeoutMs) }).then(
        () => true,
        (err: unknown) => {
          log.warn({ err, ...where }, "live delivery of a group event failed; members will get it on sync");
          return true;
        },
      );
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        if (!(await Promise.race([pushed, late]))) log.warn({ ...where, timeoutMs }, "live delivery of a group event is slow; answering without waiting");
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
