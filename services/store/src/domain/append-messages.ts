import { Code, ConnectError } from "@connectrpc/connect";
import type { AppendInput, ConversationRecord, HistoryRepository, MessageRecord } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { requireMemberOf } from "./membership.js";

/** A send as the store receives it, with the device that sends it. */
export interface AppendMessageInput {
  readonly conversationId: string;
  readonly clientMessageId: string;
  readonly text: string;
  readonly senderUserId: string;
  readonly senderDeviceId: string;
}

/** One send's outcome: stored (durable, with its seq) or refused with a status. */
export type AppendMessageResult =
  | { readonly ok: true; readonly message: MessageRecord; readonly duplicate: boolean; readonly conversation: ConversationRecord }
  | { readonly ok: false; readonly error: ConnectError };

function validate(input: AppendMessageInput): void {
  if (!input.conversationId) throw new ConnectError("conversation_id is required", Code.InvalidArgument);
  if (!input.senderUserId || !input.senderDeviceId) throw new ConnectError("sender user and device are required", Code.InvalidArgument);
  if (!input.clientMessageId || input.clientMessageId.length > limits.maxClientMessageIdChars) {
    throw new ConnectError(`client_message_id must be 1 to ${limits.maxClientMessageIdChars} characters`, Code.InvalidArgument);
  }
  if (input.text.length === 0) throw new ConnectError("text must not be empty", Code.InvalidArgument);
  if (input.text.length > limits.maxTextChars) throw new ConnectError(`text exceeds ${limits.maxTextChars} characters`, Code.InvalidArgument);
}

/**
 * Validates, authorizes and stores messages, each device's in the order given. A message
 * refused for what it is (bad input, not a member) does not affect the rest: repeating it
 * would not help, so no order is at stake. Once one fails to be stored, none after it is
 * stored (the port guarantees it), and each of those is UNAVAILABLE, to be repeated in order.
 * A resend with the same client message id returns the original.
 */
export async function appendMessages(repo: HistoryRepository, inputs: readonly AppendMessageInput[], now: number): Promise<AppendMessageResult[]> {
  if (inputs.length > limits.maxSendBatch) throw new ConnectError(`at most ${limits.maxSendBatch} messages per call`, Code.InvalidArgument);
  const results: (AppendMessageResult | undefined)[] = [];
  const accepted: { index: number; conversation: ConversationRecord; input: AppendInput }[] = [];
  const conversations = new Map<string, Promise<ConversationRecord | undefined>>();
  const notStored = (): AppendMessageResult => ({ ok: false, error: new ConnectError("message not stored: send it again with the same client message id", Code.Unavailable) });
  for (const [index, input] of inputs.entries()) {
    try {
      validate(input);
      let conversation = conversations.get(input.conversationId);
      if (!conversation) conversations.set(input.conversationId, (conversation = repo.getConversation(input.conversationId)));
      const { conversationId, clientMessageId, text, senderUserId, senderDeviceId } = input;
      accepted.push({
        index,
        conversation: requireMemberOf(await conversation, conversationId, senderUserId),
        input: { conversationId, clientMessageId, text, senderUserId, senderDeviceId, now },
      });
      results.push(undefined);
    } catch (err) {
      if (!(err instanceof ConnectError)) {
        // The lookup itself failed (storage trouble): this and every later message is left
        // to be repeated, so no later message is stored before it.
        while (results.length < inputs.length) results.push(notStored());
        break;
      }
      results.push({ ok: false, error: err });
    }
  }
  if (accepted.length > 0) {
    const outcomes = await repo.append(accepted.map((a) => a.input));
    outcomes.forEach((o, i) => {
      const { index, conversation } = accepted[i]!;
      results[index] = o.ok
        ? { ok: true, message: o.message, duplicate: o.duplicate, conversation }
        : notStored();
    });
  }
  return results as AppendMessageResult[];
}
