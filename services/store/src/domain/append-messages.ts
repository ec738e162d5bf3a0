import type { AppendInput, HistoryRepository, MessageBody, MessageRecord } from "../storage/history-repository.js";
import { DomainError, invalidArgument } from "./errors.js";
import { limits } from "./limits.js";
import { validateClientBody } from "./message-body.js";
import { requireId } from "./membership.js";

/** A send as the store receives it, with the device that sends it. */
export interface AppendMessageInput {
  readonly conversationId: string;
  readonly clientMessageId: string;
  /** Undefined when the client set no body. */
  readonly body: MessageBody | undefined;
  readonly replyToSeq: number;
  readonly clientSentAt: number | undefined;
  readonly senderUserId: string;
  readonly senderDeviceId: string;
}

/** One send's outcome: stored (durable, with its seq) or refused. */
export type AppendMessageResult =
  | { readonly ok: true; readonly message: MessageRecord; readonly duplicate: boolean; readonly memberVersion: number; readonly memberCount: number }
  | { readonly ok: false; readonly error: DomainError };

function validate(input: AppendMessageInput, now: number): AppendInput {
  requireId(input.conversationId, "conversation_id");
  if (!input.senderUserId || !input.senderDeviceId) throw invalidArgument("sender user and device are required");
  if (!input.clientMessageId || input.clientMessageId.length > limits.maxClientMessageIdChars) {
    throw invalidArgument(`client_message_id must be 1 to ${limits.maxClientMessageIdChars} characters`);
  }
  const body = validateClientBody(input.body);
  const { conversationId, clientMessageId, senderUserId, senderDeviceId, replyToSeq, clientSentAt } = input;
  return { conversationId, clientMessageId, senderUserId, senderDeviceId, body, replyToSeq, clientSentAt, now };
}

/**
 * Validates and stores messages, each device's in the order given. A message refused for
 * what it is (bad input, not an active member, unknown conversation, reply_to_seq beyond the
 * end) does not affect the rest: repeating it would not help, so no order is at stake. The
 * membership check runs in the adapter, atomically with the seq assignment. Once one fails
 * to be stored, none after it is stored (the port guarantees it), and each of those is
 * UNAVAILABLE, to be repeated in order. A resend with the same client message id returns
 * the original.
 */
export async function appendMessages(repo: HistoryRepository, inputs: readonly AppendMessageInput[], now: number): Promise<AppendMessageResult[]> {
  if (inputs.length > limits.maxSendBatch) throw invalidArgument(`at most ${limits.maxSendBatch} messages per call`);
  const results: (AppendMessageResult | undefined)[] = [];
  const accepted: { index: number; input: AppendInput }[] = [];
  for (const [index, input] of inputs.entries()) {
    try {
      accepted.push({ index, input: validate(input, now) });
      results.push(undefined);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      results.push({ ok: false, error: err });
    }
  }
  if (accepted.length > 0) {
    const outcomes = await repo.append(accepted.map((a) => a.input));
    outcomes.forEach((o, i) => {
      const { index } = accepted[i]!;
      results[index] = o.ok
        ? { ok: true, message: o.message, duplicate: o.duplicate, memberVersion: o.memberVersion, memberCount: o.memberCount }
        : o.refused
          ? { ok: false, error: new DomainError(o.kind, o.error) }
          : { ok: false, error: new DomainError("unavailable", "message not stored: send it again with the same client message id", { cause: o.error }) };
    });
  }
  return results as AppendMessageResult[];
}
