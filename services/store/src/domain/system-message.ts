import { randomUUID } from "node:crypto";
import type { SystemEvent } from "@messenger/proto/chat/v1/types";
import type { MessageRecord } from "../storage/history-repository.js";

/** The message of a change to the conversation itself, written by the store at `seq` (both adapters build it here). */
export function systemMessageRecord(conversationId: string, seq: number, actorUserId: string, system: SystemEvent, now: number): MessageRecord {
  return {
    id: randomUUID(),
    conversationId,
    seq,
    senderUserId: actorUserId,
    senderDeviceId: "",
    clientMessageId: `system:${randomUUID()}`,
    body: { kind: "system", system },
    replyToSeq: 0,
    clientSentAt: undefined,
    sentAt: now,
  };
}
