import type { HistoryRepository } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { visibleIntervals } from "./visibility.js";

/** How many referencing messages one access check looks at (a media is sent a few times at most). */
const maxReferencesChecked = 100;
/** How many media ids one FindMediaReferences call may name. */
export const maxMediaIdsPerLookup = 1000;

/** True while the user is a current member of the conversation. */
export async function isMember(repo: HistoryRepository, conversationId: string, userId: string): Promise<boolean> {
  if (!conversationId || !userId) throw invalidArgument("conversation_id and user_id are required");
  return (await repo.getMember(conversationId, userId))?.active === true;
}

/**
 * True when a stored message that references the media lies inside one of the user's
 * membership ranges: a member who joined after it, or left before it, does not see it.
 */
export async function canSeeMedia(repo: HistoryRepository, userId: string, mediaId: string): Promise<boolean> {
  if (!userId || !mediaId) throw invalidArgument("user_id and media_id are required");
  const refs = await repo.mediaReferences(mediaId, maxReferencesChecked);
  const byConversation = new Map<string, number[]>();
  for (const r of refs) byConversation.set(r.conversationId, [...(byConversation.get(r.conversationId) ?? []), r.seq]);
  for (const [conversationId, seqs] of byConversation) {
    const conv = await repo.getConversation(conversationId);
    if (!conv) continue;
    const intervals = visibleIntervals(conv, await repo.rangesOf(conversationId, userId));
    if (seqs.some((seq) => intervals.some((i) => i.from <= seq && seq <= i.to))) return true;
  }
  return false;
}

/** The ids among `mediaIds` that a stored message still references. */
export async function findMediaReferences(repo: HistoryRepository, mediaIds: readonly string[]): Promise<string[]> {
  if (mediaIds.length > maxMediaIdsPerLookup) throw invalidArgument(`at most ${maxMediaIdsPerLookup} media ids per call`);
  const referenced = await repo.referencedMedia(mediaIds);
  return mediaIds.filter((id) => referenced.has(id));
}
