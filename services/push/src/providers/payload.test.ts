import { describe, expect, it } from "vitest";
import { messageNotification } from "../../test/notifications.js";
import { maxPreviewChars, pushPayload } from "./payload.js";

describe("push payload", () => {
  it("is content-free without a preview: ids, seq as a string, badge, and no preview key at all", () => {
    const payload = pushPayload(messageNotification({ seq: 9_007_199_254_740_993n }));
    expect(payload).toEqual({ type: "message", conversation_id: "conv-1", seq: "9007199254740993", message_id: "msg-42", badge: 3 });
    expect(JSON.stringify(payload)).not.toContain("preview");
  });

  it("says silent only when nothing should be shown", () => {
    expect(pushPayload(messageNotification({ visible: false }))).toMatchObject({ silent: true });
    expect(pushPayload(messageNotification())).not.toHaveProperty("silent");
  });

  it("carries the preview and cuts a long text on a code point boundary", () => {
    const text = "🍜".repeat(maxPreviewChars + 10);
    const payload = pushPayload(messageNotification({ preview: { senderName: "Ada", text } }));
    expect(payload.preview?.sender_name).toBe("Ada");
    const cut = Array.from(payload.preview?.text ?? "");
    expect(cut).toHaveLength(maxPreviewChars);
    expect(cut.at(-1)).toBe("…");
    expect(cut.slice(0, -1).every((c) => c === "🍜")).toBe(true);
  });
});
