import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SessionResponseSchema } from "@messenger/proto/gateway/v1/gateway_service";
import type { Bus } from "./bus.js";
import type { SessionRegistry } from "./session-registry.js";
import { deliveryCodec, subjects } from "./subjects.js";

/**
 * Pushes a frame to every live session of the given users: one publish per gateway that
 * holds at least one of them, never a broadcast to all gateways. Returns the users who had
 * at least one live session.
 */
export async function fanOut(
  deps: { bus: Bus; registry: SessionRegistry },
  userIds: readonly string[],
  frame: MessageInitShape<typeof SessionResponseSchema>,
  excludeSessionId = "",
): Promise<Set<string>> {
  const sessions = await deps.registry.sessionsOf(userIds);
  const byGateway = new Map<string, Set<string>>();
  const reached = new Set<string>();
  for (const s of sessions) {
    reached.add(s.userId);
    if (s.sessionId === excludeSessionId) continue;
    let users = byGateway.get(s.gatewayId);
    if (!users) byGateway.set(s.gatewayId, (users = new Set()));
    users.add(s.userId);
  }
  for (const [gatewayId, users] of byGateway) {
    deps.bus.publish(subjects.gatewayDeliveries(gatewayId), deliveryCodec.encode({ userIds: [...users], excludeSessionId, frame }));
  }
  return reached;
}
