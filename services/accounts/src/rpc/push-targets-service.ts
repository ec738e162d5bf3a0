import { PushTargetsService } from "@messenger/proto/accounts/v1/push_targets_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { Accounts } from "../domain/accounts.js";
import type { Notifications } from "../domain/notifications.js";
import { registrationFromProto, registrationToProto } from "./notifications-proto.js";

/** The internal API of the push worker: the user comes from the request body, never from a token. */
export function pushTargetsRoute(deps: { notifications: Notifications; accounts: Accounts }): ServiceRoute {
  const { notifications, accounts } = deps;
  return route(
    PushTargetsService,
    {
      async getPushTargets(req) {
        const [t, senders] = await Promise.all([notifications.targets(req.userId, req.conversationId), req.senderUserId ? accounts.getUsers([req.senderUserId]) : []]);
        return {
          senderDisplayName: senders[0]?.displayName ?? "",
          devices: t.devices.map((d) => ({ deviceId: d.deviceId, registration: registrationToProto(d.registration) })),
          previews: t.previews,
          doNotDisturb: t.doNotDisturb,
          muted: t.muted,
        };
      },
      async removePushRegistration(req) {
        return { removed: await notifications.removeRegistration(req.userId, req.deviceId, registrationFromProto(req.registration)) };
      },
    },
    "internal",
  );
}
