import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { directConversationId } from "./direct-conversation-id.js";
import type { AppendInput, AppendOutcome, ConversationRecord, MessageRecord, ReceiptRecord } from "./history-repository.js";
import { conversationReader, toMessage, type MessageRow } from "./sqlite-schema.js";

/** A write, as it crosses from the store's thread to the writer's. */
export type WriteOp =
  | { readonly kind: "openDirect"; readonly userA: string; readonly userB: string; readonly now: number }
  | { readonly kind: "append"; readonly inputs: readonly AppendInput[] }
  | {
      readonly kind: "updateCursor";
      readonly conversationId: string;
      readonly userId: string;
      readonly deviceId: string;
      readonly deliveredSeq: number;
      readonly readSeq: number;
    };

/** What each write returns. */
export interface WriteResults {
  openDirect: ConversationRecord;
  append: AppendOutcome[];
  updateCursor: { changed: boolean; receipt: ReceiptRecord };
}

/** One write's outcome; a failed write carries its error message. */
export type WriteOutcome = { readonly ok: true; readonly value: WriteResults[WriteOp["kind"]] } | { readonly ok: false; readonly message: string };

/**
 * The history writes on one connection. `commit` runs a batch in ONE transaction, so one
 * fsync makes the whole batch durable (group commit); each write is its own savepoint (a
 * nested better-sqlite3 transaction), so one that fails rolls back alone.
 */
export function historyWrites(db: Database.Database): { commit(ops: readonly WriteOp[]): WriteOutcome[] } {
  const conversation = conversationReader(db);
  const q = {
    insertConversation: db.prepare("INSERT OR IGNORE INTO conversations (id, kind, last_seq, last_activity_at, created_at) VALUES (?, ?, 0, ?, ?)"),
    insertMember: db.prepare("INSERT OR IGNORE INTO members (conversation_id, user_id, version, last_activity_at) VALUES (?, ?, ?, ?)"),
    nextVersion: db.prepare<[], { value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'version' RETURNING value"),
    byClientId: db.prepare<[string, string, string, string], MessageRow>(
      "SELECT * FROM messages WHERE conversation_id = ? AND sender_user_id = ? AND sender_device_id = ? AND client_message_id = ?",
    ),
    bumpSeq: db.prepare<[number, string], { last_seq: number }>("UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ? WHERE id = ? RETURNING last_seq"),
    insertMessage: db.prepare(
      "INSERT INTO messages (conversation_id, seq, id, sender_user_id, sender_device_id, client_message_id, text, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    touchMembers: db.prepare("UPDATE members SET version = ?, last_activity_at = ? WHERE conversation_id = ?"),
    bumpMembersVersion: db.prepare("UPDATE members SET version = ? WHERE conversation_id = ?"),
    senderSaw: db.prepare(
      "UPDATE members SET delivered_seq = max(delivered_seq, ?), read_seq = max(read_seq, ?) WHERE conversation_id = ? AND user_id = ?",
    ),
    upsertDeviceCursor: db.prepare(
      `INSERT INTO device_cursors (conversation_id, user_id, device_id, delivered_seq, read_seq) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id, user_id, device_id) DO UPDATE SET
         delivered_seq = max(delivered_seq, excluded.delivered_seq), read_seq = max(read_seq, excluded.read_seq)`,
    ),
    member: db.prepare<[string, string], { delivered_seq: number; read_seq: number }>(
      "SELECT delivered_seq, read_seq FROM members WHERE conversation_id = ? AND user_id = ?",
    ),
    setMemberReceipt: db.prepare("UPDATE members SET delivered_seq = ?, read_seq = ? WHERE conversation_id = ? AND user_id = ?"),
  };
  const nextVersion = (): number => q.nextVersion.get()!.value;
  // Some errors (disk full, I/O, out of memory) make SQLite roll back the whole batch, not
  // just the failed write's savepoint; the writes after it would then each commit on their
  // own. The batch must fail as a whole instead.
  const failIfBatchLost = (err: unknown): void => {
    if (!db.inTransaction) throw err;
  };

  const openDirect = db.transaction((a: string, b: string, now: number): ConversationRecord => {
    const id = directConversationId(a, b);
    if (q.insertConversation.run(id, "direct", now, now).changes > 0) {
      const v = nextVersion();
      for (const u of new Set([a, b])) q.insertMember.run(id, u, v, now);
    }
    return conversation(id)!;
  });

  const appendOne = db.transaction((input: AppendInput): { message: MessageRecord; duplicate: boolean } => {
    const existing = q.byClientId.get(input.conversationId, input.senderUserId, input.senderDeviceId, input.clientMessageId);
    if (existing) return { message: toMessage(existing), duplicate: true };
    const bumped = q.bumpSeq.get(input.now, input.conversationId);
    if (!bumped) throw new Error(`conversation ${input.conversationId} does not exist`);
    const message: MessageRecord = {
      id: randomUUID(),
      conversationId: input.conversationId,
      seq: bumped.last_seq,
      senderUserId: input.senderUserId,
      senderDeviceId: input.senderDeviceId,
      clientMessageId: input.clientMessageId,
      text: input.text,
      sentAt: input.now,
    };
    q.insertMessage.run(message.conversationId, message.seq, message.id, message.senderUserId, message.senderDeviceId, message.clientMessageId, message.text, message.sentAt);
    q.touchMembers.run(nextVersion(), input.now, input.conversationId);
    // Sending implies having seen the conversation up to here, as in every mainstream messenger.
    q.senderSaw.run(message.seq, message.seq, input.conversationId, input.senderUserId);
    return { message, duplicate: false };
  });

  const append = (inputs: readonly AppendInput[]): AppendOutcome[] => {
    let failure: string | undefined;
    return inputs.map((input): AppendOutcome => {
      if (failure !== undefined) return { ok: false, error: `not stored: an earlier message failed (${failure})` };
      try {
        return { ok: true, ...appendOne(input) };
      } catch (err) {
        failIfBatchLost(err);
        failure = err instanceof Error ? err.message : String(err);
        return { ok: false, error: failure };
      }
    });
  };

  const updateCursor = db.transaction((conversationId: string, userId: string, deviceId: string, delivered: number, read: number): WriteResults["updateCursor"] => {
    const before = q.member.get(conversationId, userId);
    if (!before) throw new Error(`${userId} is not a member of ${conversationId}`);
    // A read message has necessarily been delivered.
    const deliveredSeq = Math.max(delivered, read);
    q.upsertDeviceCursor.run(conversationId, userId, deviceId, deliveredSeq, read);
    const receipt: ReceiptRecord = {
      userId,
      deliveredSeq: Math.max(before.delivered_seq, deliveredSeq),
      readSeq: Math.max(before.read_seq, read),
    };
    const changed = receipt.deliveredSeq !== before.delivered_seq || receipt.readSeq !== before.read_seq;
    if (changed) {
      q.setMemberReceipt.run(receipt.deliveredSeq, receipt.readSeq, conversationId, userId);
      q.bumpMembersVersion.run(nextVersion(), conversationId);
    }
    return { changed, receipt };
  });

  const run = (op: WriteOp): WriteResults[WriteOp["kind"]] => {
    switch (op.kind) {
      case "openDirect":
        return openDirect(op.userA, op.userB, op.now);
      case "append":
        return append(op.inputs);
      case "updateCursor":
        return updateCursor(op.conversationId, op.userId, op.deviceId, op.deliveredSeq, op.readSeq);
    }
  };

  const batch = db.transaction((ops: readonly WriteOp[]) =>
    ops.map((op): WriteOutcome => {
      try {
        return { ok: true, value: run(op) };
      } catch (err) {
        failIfBatchLost(err);
        return { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
    }),
  );

  return {
    commit(ops) {
      try {
        return batch(ops);
      } catch (err) {
        // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
        const message = `history commit failed: ${err instanceof Error ? err.message : String(err)}`;
        return ops.map(() => ({ ok: false, message }));
      }
    },
  };
}
