import { Code, ConnectError } from "@connectrpc/connect";
import type { ConversationRecord, HistoryRepository, MessageRecord } from "../storage/history-repository.js";
import { limits } from "./limits.js";
import { requireMember } from "./membership.js";

/** A send as the store receives it; the sender comes from the caller's token. */
export interface AppendMessageInput {
  readonly conversationId: string;
  readonly senderUserId: string;
  readonly senderDeviceId: string;
  readonly clientMessageId: string;
  readonly text: string;
}

/**
 * Validates, authorizes and stores a message. The returned message is durable and carries
 * its seq; a resend with the same client message id returns the original.
 */
export async function appendMessage(
  repo: HistoryRepository,
  input: AppendMessageInput,
  now: number,
): Promise<{ message: MessageRecord; duplicate: boolean; conversation: ConversationRecord }> {
  if (!input.clientMessageId || input.clientMessageId.length > limits.maxClientMessageIdChars) {
    throw new ConnectError(`client_message_id must be 1 to ${limits.maxClientMessageIdChars} characters`, Code.InvalidArgument);
  }
  if (input.text.length === 0) throw new ConnectError("text must not be empty", Code.InvalidArgument);
  if (input.text.length > limits.maxTextChars) throw new ConnectError(`text exceeds ${limits.maxTextChars} characters`, Code.InvalidArgument);
  const conversation = await requireMember(repo, input.conversationId, input.senderUserId);
  const result = await repo.append({ ...input, now });
  return { ...result, conversation };
}
