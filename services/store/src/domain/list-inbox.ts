import type { HistoryRepository, UserConversation } from "../storage/history-repository.js";
import { viewConversations, activityFor, type ConversationView } from "./conversation-view.js";
import { limits } from "./limits.js";
import { requireId } from "./membership.js";
import { clampPageSize, decodePageToken, encodePageToken } from "./page-token.js";

/** Which list: the inbox, or the pending message requests. */
export type Folder = "inbox" | "requests";

/**
 * Whether a conversation of the user's index belongs in a folder: the inbox holds every
 * conversation that is not a pending request; the requests hold the pending ones that have a
 * message beyond where the user deleted them (0: never deleted), so an empty request shows
 * nowhere until the opener writes, and a deleted one comes back with the next message, by
 * either user.
 */
export function inFolder(row: UserConversation, folder: Folder): boolean {
  return folder === "inbox" ? !row.request : row.request && row.conversation.lastSeq > row.hiddenSeq;
}

/** One page of the inbox and the token of the next. */
export interface InboxPage {
  readonly items: ConversationView[];
  readonly nextPageToken: string;
}

/** Conversations read from the user index per round trip while building the inbox order. */
const indexReadSize = 1_000;

/**
 * The user's conversations in a folder, newest activity first (then conversation id, descending).
 * Nothing is written per member per message, so the order is computed at read time: the
 * whole user index and the heads are read (batched), sorted in memory, and only the page's
 * conversations get their last message and receipts read. That is O(conversations of the
 * user) per page: fine up to a few thousand conversations (see the README's figure).
 */
export async function listInbox(
  repo: HistoryRepository,
  userId: string,
  folder: Folder,
  pageSize: number,
  pageToken: string,
  largeGroupThreshold: number,
): Promise<InboxPage> {
  requireId(userId, "user_id");
  const size = clampPageSize(pageSize, limits.defaultPageSize, limits.maxInboxPageSize);
  const after = pageToken ? decodePageToken(pageToken, ["number", "string"] as const) : undefined;
  const all: UserConversation[] = [];
  for (let from = ""; ; ) {
    const rows = await repo.userConversations(userId, from, indexReadSize);
    all.push(...rows.filter((row) => inFolder(row, folder)));
    if (rows.length < indexReadSize) break;
    from = rows.at(-1)!.conversation.id;
  }
  const keyed = all.map((row) => ({ row, at: activityFor(row.conversation, row.member), id: row.conversation.id }));
  keyed.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const start = after ? keyed.filter((k) => k.at < after[0] || (k.at === after[0] && k.id < after[1])) : keyed;
  const page = start.slice(0, size);
  const items = await viewConversations(repo, page.map((k) => k.row), largeGroupThreshold);
  const last = page.at(-1);
  return { items, nextPageToken: start.length > size && last ? encodePageToken([last.at, last.id]) : "" };
}
