export { createGroupsApp, type GroupsApp } from "./app.js";
export type { GroupsDeps, GroupsSettings } from "./rpc/group-service.js";
export { groupErrorCodes } from "./rpc/group-errors.js";
export { GroupError, StaleMemberVersionError, type GroupErrorReason } from "./domain/group-error.js";
export { groupLimits } from "./domain/group-input.js";
export { defaultRetryPolicy, type RetryPolicy } from "./domain/optimistic-retry.js";
