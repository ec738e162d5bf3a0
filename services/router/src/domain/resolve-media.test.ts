import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { MediaRefSchema } from "@messenger/proto/chat/v1/types";
import { SendMessageSchema } from "@messenger/proto/gateway/v1/gateway_service";
import { describe, expect, it } from "vitest";
import { resolveMediaBodies, type MediaToResolve, type ResolveMedia } from "./resolve-media.js";

const text = (id: string, device = "phone") => ({ senderUserId: "u1", senderDeviceId: device, message: create(SendMessageSchema, { clientMessageId: id, conversationId: "c1", body: { case: "text", value: id } }) });
const mediaSend = (id: string, mediaId: string, device = "phone") => ({
  senderUserId: "u1",
  senderDeviceId: device,
  message: create(SendMessageSchema, { clientMessageId: id, conversationId: "c1", body: { case: "media", value: { mediaId, width: 9999, mimeType: "text/html", fileName: "claimed" } } }),
});

describe("resolveMediaBodies", () => {
  it("costs no call for a batch without media", async () => {
    let calls = 0;
    const out = await resolveMediaBodies([text("a"), text("b")], async () => {
      calls++;
      return [];
    });
    expect(calls).toBe(0);
    expect(out.refused).toEqual([]);
    expect(out.items.map((i) => i?.message?.clientMessageId)).toEqual(["a", "b"]);
  });

  it("replaces each media body with the vouched reference and refuses only the sends whose reference was refused", async () => {
    const asked: MediaToResolve[] = [];
    const resolve: ResolveMedia = async (items) => {
      asked.push(...items);
      return items.map((i) =>
        i.mediaId === "m_ok" ? { media: create(MediaRefSchema, { mediaId: "m_ok", width: 640, height: 480, mimeType: "image/png", fileName: "real.png" }) } : { errorCode: Code.NotFound, errorMessage: "no such media" },
      );
    };
    const out = await resolveMediaBodies([text("t1"), mediaSend("s1", "m_ok"), mediaSend("s2", "m_bad"), text("t2")], resolve);
    expect(asked).toEqual([
      { mediaId: "m_ok", conversationId: "c1", senderUserId: "u1" },
      { mediaId: "m_bad", conversationId: "c1", senderUserId: "u1" },
    ]);
    expect(out.refused).toEqual([{ index: 2, errorCode: Code.NotFound, errorMessage: "no such media" }]);
    expect(out.items[2]).toBeUndefined();
    const body = out.items[1]!.message!.body;
    expect(body.case === "media" ? [body.value.width, body.value.mimeType, body.value.fileName] : []).toEqual([640, "image/png", "real.png"]);
    expect(out.items.map((i) => i?.message?.clientMessageId)).toEqual(["t1", "s1", undefined, "t2"]);
  });

  it("when the media service cannot answer, holds back the media sends and what their devices sent after them, and lets everything else through", async () => {
    const out = await resolveMediaBodies(
      [text("t0"), mediaSend("s1", "m_ok"), text("t2"), text("t3", "laptop"), mediaSend("s4", "m_x", "tablet"), text("t5", "laptop")],
      async () => Promise.reject(new Error("unavailable")),
    );
    expect(out.items.map((i) => i?.message?.clientMessageId)).toEqual(["t0", undefined, undefined, "t3", undefined, "t5"]);
    expect(out.refused.map((r) => [r.index, r.errorCode])).toEqual([
      [1, Code.Unavailable],
      [2, Code.Unavailable],
      [4, Code.Unavailable],
    ]);
  });
});
