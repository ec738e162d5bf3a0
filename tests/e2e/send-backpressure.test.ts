import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, registerUsers } from "../support/api-user.js";
import { openRawSession } from "../support/raw-session.js";

// A small outbound bound so that a client's own answers could overflow it. Rate limits are
// off: this is about flow control alone.
let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem({ OUTBOUND_QUEUE_LIMIT: "200", SEND_RATE_LIMIT_PER_DEVICE: "off", SEND_RATE_LIMIT_PER_USER: "off" });
});
afterAll(async () => {
  await sys?.dispose();
});

describe("a client that sends faster than it reads its answers", () => {
  it("is held back by flow control, not cut: every send gets its answer once it reads again", async () => {
    const gw = api(sys.grpcUrl);
    const [ann, ben] = await registerUsers(gw, 2);
    const conv = (await gw.history.openDirectConversation({ peerUserId: ben.id }, ann.auth)).conversation!;
    gw.close();
    const s = openRawSession(sys.grpcPort);
    try {
      s.send({ frame: { case: "hello", value: { accessToken: ann.token } } });
      await s.next((f) => f.frame.case === "syncComplete");
      const cut = s.status.then((st) => Promise.reject(new Error(`the stream ended: ${st.code} ${st.details}`)));
      cut.catch(() => undefined);
      // Stop reading, then write ten times the outbound bound in sends.
      s.call.pause();
      const n = 2_000;
      for (let i = 0; i < n; i++) s.send({ frame: { case: "send", value: { conversationId: conv.id, clientMessageId: `m${i}`, body: { case: "text", value: `m${i} ${"x".repeat(200)}` } } } });
      // Its answers fill the HTTP/2 window and the gateway's queue: it stops reading the
      // client's frames instead of cutting it. Reading again, the client gets every answer.
      await new Promise((r) => setTimeout(r, 1_000));
      s.call.resume();
      const last = await Promise.race([s.next((f) => f.frame.case === "sendResult" && f.frame.value.clientMessageId === `m${n - 1}`, 20_000), cut]);
      expect(last.frame.case === "sendResult" && last.frame.value.errorCode).toBe(0);
      const results = s.frames.flatMap((f) => (f.frame.case === "sendResult" ? [f.frame.value] : []));
      expect(results.map((r) => r.clientMessageId)).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
      expect(results.filter((r) => r.errorCode !== 0)).toEqual([]);
    } finally {
      s.close();
    }
  });
});
