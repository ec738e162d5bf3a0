import type { ConversationRecord, HistoryRepository, MemberRangeRecord, MemberRecord } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { limits } from "./limits.js";
import { requireConversation, requireId } from "./membership.js";
import { clampPageSize, decodePageToken, encodePageToken } from "./page-token.js";

/** A group's header and the memberships of the users asked about (those that ever were members). */
export async function getGroupState(
  repo: HistoryRepository,
  conversationId: string,
  userIds: readonly string[],
): Promise<{ conversation: ConversationRecord; members: MemberRecord[] }> {
  if (userIds.length > limits.group.maxUsersPerChange) throw invalidArgument(`at most ${limits.group.maxUsersPerChange} user_ids`);
  for (const u of userIds) requireId(u, "each of user_ids");
  const conversation = await requireConversation(repo, conversationId);
  return { conversation, members: await repo.getMembers(conversationId, [...new Set(userIds)]) };
}

/**
 * The membership history for fan-out, unless the caller already holds the current version
 * (then `unchanged` and no ranges). member_version is never 0 for an existing conversation,
 * so known_member_version 0 always gets the ranges.
 */
export async function getMemberRanges(
  repo: HistoryRepository,
  conversationId: string,
  knownMemberVersion: number,
): Promise<{ memberVersion: number; memberCount: number; unchanged: boolean; ranges: MemberRangeRecord[]; blocked: boolean }> {
  const conv = await requireConversation(repo, conversationId);
  const unchanged = knownMemberVersion === conv.memberVersion;
  // Read after the version: the ranges are at least as new as the version returned, so a
  // caller that caches them under that version never holds older ranges than it believes.
  const ranges = unchanged ? [] : await repo.memberRanges(conversationId);
  return { memberVersion: conv.memberVersion, memberCount: conv.memberCount, unchanged, ranges, blocked: conv.blocked };
}

/** Current members, ordered by user id, one page at a time (opaque token). */
export async function listMembers(
  repo: HistoryRepository,
  req: { conversationId: string; pageSize: number; pageToken: string },
): Promise<{ members: MemberRecord[]; nextPageToken: string; memberCount: number }> {
  const conv = await requireConversation(repo, req.conversationId);
  const size = clampPageSize(req.pageSize, limits.defaultMemberPageSize, limits.maxMemberPageSize);
  const [after] = req.pageToken ? decodePageToken(req.pageToken, ["string"] as const) : [""];
  const rows = await repo.listActiveMembers(conv.id, after, size + 1);
  const members = rows.slice(0, size);
  return { members, nextPageToken: rows.length > size ? encodePageToken([members.at(-1)!.userId]) : "", memberCount: conv.memberCount };
}
