import { Code, ConnectError } from "@connectrpc/connect";
import type { HistoryRepository, InboxCursor, InboxEntry, ReceiptRecord } from "../storage/history-repository.js";
import { limits } from "./limits.js";

/** An inbox row with every member's receipts. */
export interface InboxItem extends InboxEntry {
  readonly receipts: ReceiptRecord[];
  readonly unreadCount: number;
}

/** One page of the inbox and the token of the next. */
export interface InboxPage {
  readonly items: InboxItem[];
  readonly nextPageToken: string;
}

function encodeToken(c: InboxCursor): string {
  return Buffer.from(JSON.stringify([c.lastActivityAt, c.conversationId])).toString("base64url");
}

function decodeToken(token: string): InboxCursor {
  try {
    const [lastActivityAt, conversationId] = JSON.parse(Buffer.from(token, "base64url").toString()) as unknown[];
    if (typeof lastActivityAt === "number" && typeof conversationId === "string") return { lastActivityAt, conversationId };
  } catch {
    // fall through to the error below
  }
  throw new ConnectError("invalid page_token", Code.InvalidArgument);
}

/** The caller's conversations, newest activity first, with unread counts. */
export async function listInbox(repo: HistoryRepository, userId: string, pageSize: number, pageToken: string): Promise<InboxPage> {
  const size = Math.min(Math.max(pageSize || limits.defaultPageSize, 1), limits.maxInboxPageSize);
  const entries = await repo.listInbox(userId, size + 1, pageToken ? decodeToken(pageToken) : undefined);
  const page = entries.slice(0, size);
  const items = await Promise.all(
    page.map(async (e) => ({
      ...e,
      receipts: await repo.receipts(e.conversation.id),
      unreadCount: Math.max(0, e.conversation.lastSeq - e.readSeq),
    })),
  );
  const last = page.at(-1);
  const nextPageToken =
    entries.length > size && last ? encodeToken({ lastActivityAt: last.conversation.lastActivityAt, conversationId: last.conversation.id }) : "";
  return { items, nextPageToken };
}
