export { createGroupsApp, type GroupsApp } from "./app.js";
export type { GroupsDeps, GroupsSettings } from "./rpc/group-service.js";
export type { RetryPolicy } from "./domain/optimistic-retry.js";
export { groupsLimitsEnv } from "./limits-env.js";
