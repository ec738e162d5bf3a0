import { create } from "@bufbuild/protobuf";
import { MessageSchema, ReceiptSummarySchema } from "@messenger/proto/chat/v1/types";
import { TypingEventSchema } from "@messenger/proto/gateway/v1/gateway_service";
import { describe, expect, it } from "vitest";
import type { Names } from "./format.js";
import { GroupView } from "./group-view.js";

const names: Names = { myUserId: "me", nameOf: (id) => ({ a: "alice", b: "bob", c: "carol" })[id] ?? id };
const text = (seq: bigint, from: string, value: string) => create(MessageSchema, { conversationId: "g", seq, senderUserId: from, body: { case: "text", value } });
const summary = (memberCount: number, deliveredAllSeq: bigint, readAllSeq: bigint) => create(ReceiptSummarySchema, { memberCount, deliveredAllSeq, readAllSeq });

describe("GroupView", () => {
  it("shows system messages in seq order with the rest, naming me 'you'", () => {
    const lines: string[] = [];
    const view = new GroupView("g", names, 3, (l) => lines.push(l));
    view.show(create(MessageSchema, { conversationId: "g", seq: 1n, senderUserId: "me", body: { case: "system", value: { actorUserId: "me", event: { case: "groupCreated", value: { title: "Trip", memberUserIds: ["me", "a", "b"] } } } } }));
    view.show(text(2n, "a", "hi all"));
    // Seqs outside my membership never come: 3..5 are simply not shown.
    view.show(create(MessageSchema, { conversationId: "g", seq: 6n, senderUserId: "a", body: { case: "system", value: { actorUserId: "a", event: { case: "membersAdded", value: { userIds: ["c"] } } } } }));
    expect(lines).toEqual(["[1] -- you created the group “Trip” with alice, bob", "[2] alice: hi all", "[6] -- alice added carol"]);
  });

  it("shows the aggregate receipts of my messages and 'read by k of n' while some have read", () => {
    const lines: string[] = [];
    const view = new GroupView("g", names, 3, (l) => lines.push(l));
    view.show(text(1n, "me", "one"));
    view.show(text(2n, "a", "two"));
    view.show(text(3n, "me", "three"));
    const readers = new Map<bigint, number>([[3n, 1]]);
    view.onMemberRead((seq) => readers.get(seq) ?? 0);
    view.onMemberRead((seq) => readers.get(seq) ?? 0);
    view.onSummary(summary(3, 3n, 1n));
    view.onSummary(summary(3, 3n, 1n));
    readers.set(3n, 2);
    // Everyone read it: the summary says so, not a "2 of 2" line.
    view.onMemberRead((seq) => readers.get(seq) ?? 0);
    view.onSummary(summary(3, 3n, 3n));
    expect(lines).toEqual([
      "[1] me: one ✓",
      "[2] alice: two",
      "[3] me: three ✓",
      "  ✔✔ read by 1 of 2 up to 3",
      "  ✔✔ read by all up to 1",
      "  ✓✓ delivered to all up to 3",
      "  ✔✔ read by all up to 3",
    ]);
    expect(view.memberCount).toBe(3);
    view.onSummary(summary(4, 3n, 3n));
    expect(view.memberCount).toBe(4);
  });

  it("prints no aggregate receipt behind one already shown", () => {
    const lines: string[] = [];
    const view = new GroupView("g", names, 3, (l) => lines.push(l));
    view.show(text(1n, "me", "one"));
    view.show(text(2n, "me", "two"));
    view.onSummary(summary(3, 2n, 2n));
    // A summary from before, delivered late.
    view.onSummary(summary(3, 1n, 0n));
    view.onSummary(summary(3, 2n, 1n));
    expect(lines).toEqual(["[1] me: one ✓", "[2] me: two ✓", "  ✔✔ read by all up to 2"]);
  });

  it("says who is typing, once until they stop or send", () => {
    const lines: string[] = [];
    const view = new GroupView("g", names, 3, (l) => lines.push(l));
    const typing = (userId: string, on: boolean) => create(TypingEventSchema, { conversationId: "g", userId, typing: on, expiresInMs: 6000 });
    view.onTyping(typing("a", true));
    view.onTyping(typing("a", true));
    view.onTyping(typing("b", true));
    view.onTyping(typing("me", true));
    view.show(text(1n, "a", "done"));
    view.onTyping(typing("a", true));
    view.onTyping(typing("b", false));
    view.onTyping(typing("b", true));
    expect(lines).toEqual(["-- alice is typing…", "-- bob is typing…", "[1] alice: done", "-- alice is typing…", "-- bob is typing…"]);
  });
});
