import type { HistoryRepository } from "../storage/history-repository.js";
import { invalidArgument, notFound, permissionDenied } from "./errors.js";
import { limits } from "./limits.js";
import { requireViewer } from "./membership.js";
import { clampPageSize, decodePageToken, encodePageToken } from "./page-token.js";
import { countVisible, visibleIntervals } from "./visibility.js";

/** One page of the current members who read a message. */
export interface ReadByPage {
  readonly userIds: string[];
  /** Current members besides the sender whose read watermark is at or past the seq. */
  readonly readCount: number;
  /** Current members besides the sender who were members when it was sent. */
  readonly memberCount: number;
  readonly nextPageToken: string;
}

/**
 * Who read a message: current members other than its sender whose read watermark is ≥ its
 * seq, paged by user id; both the page and the count come from the (conversation, active,
 * read_seq) index, never from a scan in app code. The caller must be a member who may see
 * that seq (PERMISSION_DENIED otherwise).
 */
export async function listReadBy(
  repo: HistoryRepository,
  userId: string,
  req: { conversationId: string; seq: number; pageSize: number; pageToken: string },
): Promise<ReadByPage> {
  const { conversation: conv, member } = await requireViewer(repo, req.conversationId, userId);
  if (req.seq < 1 || req.seq > conv.lastSeq) throw invalidArgument(`seq must be 1 to ${conv.lastSeq}`);
  if (!member.active || countVisible(visibleIntervals(conv, await repo.rangesOf(conv.id, userId)), req.seq - 1, req.seq) === 0) {
    throw permissionDenied(`you may not see message ${req.seq} of ${conv.id}`);
  }
  const [message] = await repo.messagesAt(conv.id, [req.seq]);
  if (!message) throw notFound(`message ${req.seq} of ${conv.id} no longer exists`);
  const size = clampPageSize(req.pageSize, limits.defaultMemberPageSize, limits.maxMemberPageSize);
  const [after] = req.pageToken ? decodePageToken(req.pageToken, ["string"] as const) : [""];
  const { userIds, count, eligible } = await repo.readBy(conv.id, req.seq, message.senderUserId, after, size + 1);
  const page = userIds.slice(0, size);
  return {
    userIds: page,
    readCount: count,
    memberCount: eligible,
    nextPageToken: userIds.length > size ? encodePageToken([page.at(-1)!]) : "",
  };
}
