import { MemberRole, RetentionMode, type SystemEvent } from "@messenger/proto/chat/v1/types";
import { printable } from "./printable.js";

/**
 * One line saying what a system message changed, e.g. "alice added bob, carol", "bob left",
 * "alice made bob an admin", "alice renamed the group to “Trip”", "alice created the group
 * “Trip” with bob; messages disappear after 1 hour" (a permanent group's line says nothing
 * of retention). `nameOf` gives the name to
 * show for a user id (the caller says "you" for the logged-in user). Titles are made
 * printable; names are the caller's to sanitize.
 */
export function describeSystemEvent(e: SystemEvent, nameOf: (userId: string) => string): string {
  const actor = nameOf(e.actorUserId);
  const ev = e.event;
  switch (ev.case) {
    case "groupCreated": {
      const others = ev.value.memberUserIds.filter((u) => u !== e.actorUserId);
      const created = `${actor} created the group ${quote(ev.value.title)}`;
      const line = others.length > 0 ? `${created} with ${names(others, nameOf)}` : created;
      const kept = retentionSentence(ev.value.retention?.mode ?? RetentionMode.UNSPECIFIED, ev.value.retention?.ttlSeconds ?? 0);
      return kept ? `${line}; ${kept}` : line;
    }
    case "membersAdded": {
      const ids = ev.value.userIds;
      if (ids.length === 1 && ids[0] === e.actorUserId) return `${actor} joined`;
      return `${actor} added ${names(ids, nameOf)}`;
    }
    case "memberRemoved":
      if (ev.value.userId === e.actorUserId) return `${actor} left`;
      return `${actor} removed ${nameOf(ev.value.userId)}`;
    case "memberLeft":
      return `${nameOf(ev.value.userId)} left`;
    case "roleChanged":
      return `${actor} made ${nameOf(ev.value.userId)} ${roleName(ev.value.role)}`;
    case "ownershipTransferred":
      return `${nameOf(ev.value.fromUserId)} handed ownership to ${nameOf(ev.value.toUserId)}`;
    case "infoChanged": {
      const renamed = `${actor} renamed the group to ${quote(ev.value.title)}`;
      return ev.value.description !== "" ? `${renamed} (description: ${quote(ev.value.description)})` : renamed;
    }
    case "retentionChanged":
      return `${actor} ${retentionText(ev.value.retention?.mode ?? RetentionMode.UNSPECIFIED, ev.value.retention?.ttlSeconds ?? 0)}`;
    case undefined:
      return `${actor} changed the conversation`;
  }
}

/** Every user id a system event names (its actor included), to resolve before showing it. */
export function userIdsIn(e: SystemEvent): string[] {
  const ids = [e.actorUserId];
  const ev = e.event;
  switch (ev.case) {
    case "groupCreated":
      ids.push(...ev.value.memberUserIds);
      break;
    case "membersAdded":
      ids.push(...ev.value.userIds);
      break;
    case "memberRemoved":
    case "memberLeft":
    case "roleChanged":
      ids.push(ev.value.userId);
      break;
    case "ownershipTransferred":
      ids.push(ev.value.fromUserId, ev.value.toUserId);
      break;
    default:
      break;
  }
  return ids.filter((id) => id !== "");
}

/** "a member", "an admin", "the owner". */
export function roleName(role: MemberRole): string {
  switch (role) {
    case MemberRole.OWNER:
      return "the owner";
    case MemberRole.ADMIN:
      return "an admin";
    default:
      return "a member";
  }
}

/** A duration in the largest whole unit: "30 seconds", "1 hour", "7 days". */
export function formatDuration(seconds: number): string {
  const units: [number, string][] = [
    [86_400 * 7, "week"],
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
  ];
  for (const [size, unit] of units) {
    if (seconds >= size && seconds % size === 0) return plural(seconds / size, unit);
  }
  return plural(seconds, "second");
}

function retentionText(mode: RetentionMode, ttlSeconds: number): string {
  switch (mode) {
    case RetentionMode.STORE_AND_FORWARD:
      return "set messages to be deleted from the server once delivered";
    case RetentionMode.DISAPPEARING:
      return `set messages to disappear after ${formatDuration(ttlSeconds)}`;
    default:
      return "set messages to be kept";
  }
}

/** What a non-permanent retention means for the conversation's messages; undefined for a permanent one. */
function retentionSentence(mode: RetentionMode, ttlSeconds: number): string | undefined {
  switch (mode) {
    case RetentionMode.STORE_AND_FORWARD:
      return "messages are deleted from the server once delivered";
    case RetentionMode.DISAPPEARING:
      return `messages disappear after ${formatDuration(ttlSeconds)}`;
    default:
      return undefined;
  }
}

function names(ids: readonly string[], nameOf: (userId: string) => string): string {
  return ids.map(nameOf).join(", ");
}

function quote(s: string): string {
  return `“${printable(s)}”`;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}
