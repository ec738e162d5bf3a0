import { GroupError } from "./group-error.js";

/** Bounds every request is checked against before anything is read or changed. */
export const groupLimits = {
  /** Characters (Unicode code points) of a title. */
  minTitleChars: 1,
  maxTitleChars: 128,
  /** Characters (Unicode code points) of a description. */
  maxDescriptionChars: 1024,
  /** Distinct users one CreateGroup or AddMembers call may name. */
  maxUsersPerCall: 1024,
  /** Characters of a user id. */
  maxUserIdChars: 128,
} as const;

const chars = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** Checks a title and description against the limits; a title must not be blank. */
export function validateInfo(title: string, description: string): void {
  const t = chars(title);
  if (t < groupLimits.minTitleChars || t > groupLimits.maxTitleChars || title.trim() === "") {
    throw new GroupError("invalid-argument", `title must be ${groupLimits.minTitleChars} to ${groupLimits.maxTitleChars} characters and not blank`);
  }
  if (chars(description) > groupLimits.maxDescriptionChars) {
    throw new GroupError("invalid-argument", `description must be at most ${groupLimits.maxDescriptionChars} characters`);
  }
}

/** Checks one user id named by a request. */
export function validateUserId(userId: string, field: string): void {
  if (userId === "") throw new GroupError("invalid-argument", `${field} is required`);
  if (userId.length > groupLimits.maxUserIdChars) throw new GroupError("invalid-argument", `${field} must be at most ${groupLimits.maxUserIdChars} characters`);
}

/**
 * The distinct user ids of a request, in first-seen order, without `exclude` (the caller
 * naming themselves); refuses an empty or over-long id and more than maxUsersPerCall ids.
 */
export function distinctUserIds(userIds: readonly string[], field: string, exclude?: string): string[] {
  const seen = new Set<string>();
  for (const id of userIds) {
    validateUserId(id, `every entry of ${field}`);
    if (id !== exclude) seen.add(id);
    if (seen.size > groupLimits.maxUsersPerCall) {
      throw new GroupError("invalid-argument", `${field} may name at most ${groupLimits.maxUsersPerCall} distinct users per call`);
    }
  }
  return [...seen];
}
