import { create } from "@bufbuild/protobuf";
import { MemberReceiptSchema, MessageSchema } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { ConversationView } from "./conversation-view.js";
import { marksFor } from "./marks.js";

const msg = (seq: bigint, from: string, text: string, conversationId = "c") => create(MessageSchema, { conversationId, seq, senderUserId: from, body: { case: "text", value: text } });
const receipt = (deliveredSeq: bigint, readSeq: bigint) => create(MemberReceiptSchema, { userId: "p", deliveredSeq, readSeq });
const who = { myUserId: "me", peerUserId: "p", peerName: "bob" };

describe("ConversationView", () => {
  it("shows each message once, mine marked sent, and receipts only when they newly cover my messages", () => {
    const lines: string[] = [];
    const view = new ConversationView("c", who, (l) => lines.push(l));
    view.show(msg(1n, "me", "one"));
    view.onReceipt(receipt(1n, 0n));
    view.show(msg(2n, "p", "two"));
    view.show(msg(1n, "me", "one"));
    view.show(msg(3n, "p", "elsewhere", "other"));
    // Bob's reply moved his read watermark past 1: no "read up to 1" below his reply.
    view.onReceipt(receipt(2n, 2n));
    view.show(msg(3n, "me", "three"));
    view.onReceipt(receipt(3n, 3n));
    view.onReceipt(receipt(3n, 3n));
    expect(lines).toEqual(["[1] me: one ✓", "  ✓✓ delivered up to 1", "[2] bob: two", "[3] me: three ✓", "  ✔✔ read up to 3"]);
    expect(view.shownUpTo).toBe(3n);

    lines.length = 0;
    view.hold();
    view.show(msg(9n, "p", "live, during the reload"));
    view.release([msg(6n, "p", "six"), msg(7n, "p", "seven"), msg(8n, "p", "eight"), msg(9n, "p", "live, during the reload")]);
    expect(lines).toEqual(["… 2 messages not shown", "[6] bob: six", "[7] bob: seven", "[8] bob: eight", "[9] bob: live, during the reload"]);
  });

  it("marks sent, delivered and read distinctly and never prints a receipt line behind one already shown", () => {
    const lines: string[] = [];
    const view = new ConversationView("c", who, (l) => lines.push(l));
    // To an offline peer: sent (stored), nothing more yet.
    for (const seq of [1n, 2n, 3n]) view.show(msg(seq, "me", `m${seq}`));
    view.onReceipt(receipt(3n, 3n));
    // Late and older receipts, as a resume replays them: nothing.
    view.onReceipt(receipt(2n, 0n));
    view.onReceipt(receipt(3n, 1n));
    view.show(msg(4n, "me", "m4"));
    view.onReceipt(receipt(4n, 3n));
    view.onReceipt(receipt(3n, 0n));
    view.onReceipt(receipt(4n, 4n));
    expect(lines).toEqual(["[1] me: m1 ✓", "[2] me: m2 ✓", "[3] me: m3 ✓", "  ✔✔ read up to 3", "[4] me: m4 ✓", "  ✓✓ delivered up to 4", "  ✔✔ read up to 4"]);
  });

  it("shows read in colour where the terminal has colours, and the same words without", () => {
    const lines: string[] = [];
    const view = new ConversationView("c", who, (l) => lines.push(l), marksFor(true));
    view.show(msg(1n, "me", "one"));
    view.onReceipt(receipt(1n, 1n));
    expect(lines).toEqual(["[1] me: one ✓", "  \x1b[34m✔✔\x1b[39m read up to 1"]);
    expect(marksFor(false)).toEqual({ sent: "✓", delivered: "✓✓", read: "✔✔" });
  });

  it("puts a marker before the first message that came since I last read", () => {
    const lines: string[] = [];
    const view = new ConversationView("c", who, (l) => lines.push(l));
    view.markNewAfter(2n, "-- 2 new since you were away --");
    view.hold();
    view.release([msg(1n, "p", "old"), msg(2n, "me", "mine"), msg(3n, "p", "new"), msg(4n, "p", "newer")]);
    view.show(msg(5n, "p", "live"));
    expect(lines).toEqual(["[1] bob: old", "[2] me: mine ✓", "-- 2 new since you were away --", "[3] bob: new", "[4] bob: newer", "[5] bob: live"]);
  });
});
