import { Code } from "@connectrpc/connect";
import { clone } from "@bufbuild/protobuf";
import type { MediaRef } from "@messenger/proto/chat/v1/types";
import { SendMessageSchema, type SendMessage } from "@messenger/proto/gateway/v1/gateway_service";

/** One media reference to vouch for: the id a client sent, where, and by whom. */
export interface MediaToResolve {
  readonly mediaId: string;
  readonly conversationId: string;
  readonly senderUserId: string;
}

/** The media service's answer for one reference: the reference to store, or why not. */
export type ResolvedMedia = { readonly media: MediaRef } | { readonly errorCode: Code; readonly errorMessage: string };

/** The media service's ResolveMedia, one answer per item in order. */
export type ResolveMedia = (items: readonly MediaToResolve[]) => Promise<ResolvedMedia[]>;

/** A send whose media reference was refused: its result, by the item's index. */
export interface RefusedSend {
  readonly index: number;
  readonly errorCode: Code;
  readonly errorMessage: string;
}

/**
 * Replaces every media body with the reference the media service vouches for (a completed
 * upload of that sender, for that conversation: sniffed type, size, dimensions, preview), so
 * nothing a client claims about a media is stored. Text and other bodies pass untouched,
 * and a batch without media costs no call. A refused reference refuses only its own send.
 * If the media service cannot answer, its sends, and every later send of the same devices in
 * the batch, are refused UNAVAILABLE without being stored (the gateway repeats them in order,
 * as after any retryable failure); the other devices' sends are stored, so an outage of the
 * media service never holds text back.
 */
export async function resolveMediaBodies<T extends { readonly message?: SendMessage; readonly senderUserId: string; readonly senderDeviceId: string }>(
  items: readonly T[],
  resolve: ResolveMedia,
): Promise<{ items: (T | undefined)[]; refused: RefusedSend[] }> {
  const at: number[] = [];
  const asks: MediaToResolve[] = [];
  items.forEach((item, index) => {
    const body = item.message?.body;
    if (body?.case !== "media") return;
    at.push(index);
    asks.push({ mediaId: body.value.mediaId, conversationId: item.message!.conversationId, senderUserId: item.senderUserId });
  });
  if (asks.length === 0) return { items: [...items], refused: [] };
  let answers: ResolvedMedia[];
  try {
    answers = await resolve(asks);
    if (answers.length !== asks.length) throw new Error(`the media service answered ${answers.length} of ${asks.length} references`);
  } catch {
    return holdBackDevices(items, new Set(at));
  }
  const out: (T | undefined)[] = [...items];
  const refused: RefusedSend[] = [];
  answers.forEach((answer, k) => {
    const index = at[k]!;
    if ("errorCode" in answer) {
      out[index] = undefined;
      refused.push({ index, errorCode: answer.errorCode, errorMessage: answer.errorMessage });
      return;
    }
    const item = items[index]!;
    const message = clone(SendMessageSchema, item.message!);
    message.body = { case: "media", value: answer.media };
    out[index] = { ...item, message };
  });
  return { items: out, refused };
}

/** Refuses the unanswerable sends and, to keep each device's order, every later send of their devices. */
function holdBackDevices<T extends { readonly senderUserId: string; readonly senderDeviceId: string }>(
  items: readonly T[],
  unanswered: ReadonlySet<number>,
): { items: (T | undefined)[]; refused: RefusedSend[] } {
  const held = new Set<string>();
  const out: (T | undefined)[] = [...items];
  const refused: RefusedSend[] = [];
  items.forEach((item, index) => {
    const device = `${item.senderUserId}\u0000${item.senderDeviceId}`;
    if (unanswered.has(index)) {
      held.add(device);
      refused.push({ index, errorCode: Code.Unavailable, errorMessage: "not stored: the media service is unavailable; repeat the send" });
    } else if (held.has(device)) {
      refused.push({ index, errorCode: Code.Unavailable, errorMessage: "not stored: an earlier send of this device could not be checked; repeat both, in order" });
    } else return;
    out[index] = undefined;
  });
  return { items: out, refused };
}
