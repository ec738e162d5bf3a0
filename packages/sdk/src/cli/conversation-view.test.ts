import { create } from "@bufbuild/protobuf";
import { MemberReceiptSchema, MessageSchema } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { ConversationView } from "./conversation-view.js";

const msg = (seq: bigint, from: string, text: string, conversationId = "c") => create(MessageSchema, { conversationId, seq, senderUserId: from, body: { case: "text", value: text } });

describe("ConversationView", () => {
  it("shows each message once and receipts only when they newly cover my messages", () => {
    const lines: string[] = [];
    const view = new ConversationView("c", { myUserId: "me", peerUserId: "p", peerName: "bob" }, (l) => lines.push(l));
    const receipt = (deliveredSeq: bigint, readSeq: bigint) => create(MemberReceiptSchema, { userId: "p", deliveredSeq, readSeq });
    view.show(msg(1n, "me", "one"));
    view.show(msg(2n, "p", "two"));
    view.show(msg(1n, "me", "one"));
    view.show(msg(3n, "p", "elsewhere", "other"));
    view.onReceipt(receipt(1n, 0n));
    view.onReceipt(receipt(2n, 0n));
    view.onReceipt(receipt(2n, 2n));
    view.onReceipt(receipt(2n, 2n));
    view.show(msg(3n, "me", "three"));
    view.onReceipt(receipt(3n, 3n));
    expect(lines).toEqual(["[1] me: one", "[2] bob: two", "  ✓✓ delivered up to 1", "  ✓✓ read up to 1", "[3] me: three", "  ✓✓ read up to 3"]);
    expect(view.shownUpTo).toBe(3n);

    lines.length = 0;
    view.hold();
    view.show(msg(9n, "p", "live, during the reload"));
    view.release([msg(6n, "p", "six"), msg(7n, "p", "seven"), msg(8n, "p", "eight"), msg(9n, "p", "live, during the reload")]);
    expect(lines).toEqual(["… 2 messages not shown", "[6] bob: six", "[7] bob: seven", "[8] bob: eight", "[9] bob: live, during the reload"]);
  });
});
