import type { ServiceRoute } from "@messenger/rpc";
import { conversationSettingsRoute } from "./rpc/conversation-settings-service.js";
import { groupsRoute, type GroupsDeps } from "./rpc/group-service.js";

/** The groups service, ready to mount on any transport. */
export interface GroupsApp {
  readonly routes: ServiceRoute[];
}

/**
 * Composes the groups service (and the conversation settings it serves beside the groups)
 * from its peers: the store (where groups live), the router
 * (live delivery of system messages), accounts (added users must exist and not block the caller) and optionally the
 * history API (the caller's view of a group). Holds no state of its own, so any number of
 * replicas may run.
 */
export function createGroupsApp(deps: GroupsDeps): GroupsApp {
  return { routes: [groupsRoute(deps), conversationSettingsRoute(deps)] };
}
