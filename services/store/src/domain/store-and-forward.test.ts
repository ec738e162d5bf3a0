import { describe, expect, it } from "vitest";
import type { MemberRangeRecord, MessageRecord } from "../storage/history-repository.js";
import { deliveredThrough, type RegisteredDevice } from "./store-and-forward.js";

const msg = (seq: number, sentAt: number, sender = "alice", device = "a-phone"): MessageRecord => ({
  id: `m${seq}`,
  conversationId: "c",
  seq,
  senderUserId: sender,
  senderDeviceId: device,
  clientMessageId: `k${seq}`,
  body: { kind: "text", text: `t${seq}` },
  replyToSeq: 0,
  clientSentAt: undefined,
  sentAt,
});
const dev = (userId: string, deviceId: string, registeredAt = 0): RegisteredDevice => ({ userId, deviceId, registeredAt });
const open = (userId: string, fromSeq = 1): MemberRangeRecord => ({ userId, fromSeq, toSeq: undefined });
const cursors = (entries: Record<string, number>) => new Map(Object.entries(entries).map(([k, v]) => [k.replace("/", "\u0000"), v]));
const noHold = 0;

describe("what a store-and-forward conversation no longer owes any device", () => {
  const ranges = [open("alice"), open("bob")];
  const devices = [dev("alice", "a-phone"), dev("alice", "a-laptop"), dev("bob", "b-phone"), dev("bob", "b-tablet")];
  const messages = [msg(1, 100), msg(2, 200), msg(3, 300, "bob", "b-phone")];

  it("is the prefix delivered to every recipient device, the sending device excepted", () => {
    const all = cursors({ "alice/a-laptop": 3, "bob/b-phone": 3, "bob/b-tablet": 3, "alice/a-phone": 3 });
    expect(deliveredThrough(messages, ranges, devices, all, noHold)).toBe(3);
    // alice's phone sent 1 and 2 and has no need of them; bob's 3 is still owed to it.
    expect(deliveredThrough(messages, ranges, devices, cursors({ "alice/a-laptop": 3, "bob/b-phone": 3, "bob/b-tablet": 3 }), noHold)).toBe(2);
    // The tablet has only 1: messages 2 and 3 are still owed to it.
    expect(deliveredThrough(messages, ranges, devices, cursors({ "alice/a-laptop": 3, "bob/b-phone": 3, "bob/b-tablet": 1, "alice/a-phone": 3 }), noHold)).toBe(1);
    // A device with no cursor at all has nothing: nothing goes.
    expect(deliveredThrough(messages, ranges, devices, cursors({ "alice/a-laptop": 3, "bob/b-phone": 3, "alice/a-phone": 3 }), noHold)).toBe(0);
    // Message 3 was sent by bob's phone: it is owed to alice's two devices and bob's tablet, not to the phone.
    expect(deliveredThrough(messages, ranges, devices, cursors({ "alice/a-laptop": 3, "bob/b-phone": 2, "bob/b-tablet": 3, "alice/a-phone": 3 }), noHold)).toBe(3);
  });

  it("owes a message only to devices that existed when it was sent", () => {
    const withNew = [...devices, dev("bob", "b-new", 250)];
    const c = cursors({ "alice/a-laptop": 3, "bob/b-phone": 3, "bob/b-tablet": 3, "alice/a-phone": 3 });
    // b-new came after messages 1 and 2: they go; message 3 is owed to it.
    expect(deliveredThrough(messages, ranges, withNew, c, noHold)).toBe(2);
  });

  it("owes a message only to users whose membership range holds it", () => {
    const left = [open("alice"), { userId: "bob", fromSeq: 1, toSeq: 1 }];
    // bob left after seq 1 and his devices have nothing: only message 1 is owed to them.
    expect(deliveredThrough(messages.slice(0, 2), left, devices, cursors({ "alice/a-laptop": 3 }), noHold)).toBe(0);
    expect(deliveredThrough(messages.slice(1, 2), left, devices, cursors({ "alice/a-laptop": 3 }), noHold)).toBe(2);
  });

  it("lets a message go after the longest hold even if a device never came back, and stops at the first one still owed", () => {
    const none = cursors({});
    expect(deliveredThrough(messages, ranges, devices, none, 200)).toBe(2);
    expect(deliveredThrough(messages, ranges, devices, none, 99)).toBe(0);
  });

  it("owes nothing to a user with no registered device (every device logged out)", () => {
    expect(deliveredThrough(messages, ranges, [dev("alice", "a-phone")], cursors({}), noHold)).toBe(2);
  });
});
