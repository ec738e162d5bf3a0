import { authenticate, type TokenVerifier } from "@messenger/auth";
import { NotificationsService } from "@messenger/proto/accounts/v1/notifications_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { Notifications } from "../domain/notifications.js";
import { mutedToProto, registrationFromProto, settingsFromProto, settingsToProto, untilFromProto } from "./notifications-proto.js";

/**
 * The public notifications API: every call acts for the holder of its access token, and the
 * push registration calls for the token's device.
 */
export function notificationsRoute(deps: { notifications: Notifications; verifier: TokenVerifier }): ServiceRoute {
  const { notifications, verifier } = deps;
  const caller = (headers: Headers) => authenticate(verifier, headers);
  return route(
    NotificationsService,
    {
      async registerPush(req, ctx) {
        const me = await caller(ctx.requestHeader);
        await notifications.registerPush(me.userId, me.deviceId, registrationFromProto(req.registration));
        return {};
      },
      async unregisterPush(_req, ctx) {
        const me = await caller(ctx.requestHeader);
        await notifications.unregisterPush(me.userId, me.deviceId);
        return {};
      },
      async getNotificationSettings(_req, ctx) {
        return { settings: settingsToProto(await notifications.settings((await caller(ctx.requestHeader)).userId)) };
      },
      async updateNotificationSettings(req, ctx) {
        const me = await caller(ctx.requestHeader);
        return { settings: settingsToProto(await notifications.updateSettings(me.userId, settingsFromProto(req.settings), req.updateMask)) };
      },
      async muteConversation(req, ctx) {
        const me = await caller(ctx.requestHeader);
        return { muted: mutedToProto(await notifications.mute(me.userId, req.conversationId, untilFromProto(req.until, req.forever))) };
      },
      async unmuteConversation(req, ctx) {
        await notifications.unmute((await caller(ctx.requestHeader)).userId, req.conversationId);
        return {};
      },
      async listMutedConversations(req, ctx) {
        const page = await notifications.listMuted((await caller(ctx.requestHeader)).userId, req.pageSize, req.pageToken);
        return { conversations: page.items.map(mutedToProto), nextPageToken: page.nextPageToken };
      },
    },
    "public",
  );
}
