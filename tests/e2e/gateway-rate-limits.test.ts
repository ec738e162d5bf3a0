import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GatewayService, type SessionRequestSchema } from "@messenger/proto/gateway/v1/gateway_service";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { retryAfterMsOf } from "@messenger/rpc";
import { MessengerClient } from "@messenger/sdk";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { eventually } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, registerUsers, type Api, type ApiUser } from "../support/api-user.js";
import { metricValue } from "../support/metrics.js";
import { openRawSession, type RawSession } from "../support/raw-session.js";

// Small limits so a burst and a flood fit in a test: 20 sends per device at once, then 20 a
// second; 30 per user; 2 new streams per user at once, then one a second.
let sys: TestSystem;
let gw: Api;
beforeAll(async () => {
  sys = await startTestSystem({ SEND_RATE_LIMIT_PER_DEVICE: "20/1s", SEND_RATE_LIMIT_PER_USER: "30/1s", NEW_SESSION_RATE_LIMIT_PER_USER: "2/2s" });
  gw = api(sys.grpcUrl);
});
afterAll(async () => {
  gw?.close();
  await sys?.dispose();
});

const limited = (limit: string) => metricValue(sys.httpUrl, "messenger_rate_limited_total", { limit });

/** A device's raw stream, welcomed. */
async function device(token: string): Promise<RawSession> {
  const s = openRawSession(sys.grpcPort);
  s.send({ frame: { case: "hello", value: { accessToken: token } } });
  await s.next((f) => f.frame.case === "syncComplete");
  return s;
}

/** Writes `n` sends at once; resolves with the stored ones' count once all have their result. */
async function sendAll(s: RawSession, conversationId: string, prefix: string, n: number): Promise<number> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) s.send({ frame: { case: "send", value: { conversationId, clientMessageId: id, body: { case: "text", value: id } } } });
  const results = await Promise.all(ids.map((id) => s.next((f) => f.frame.case === "sendResult" && f.frame.value.clientMessageId === id, 20_000)));
  return results.filter((r) => r.frame.case === "sendResult" && r.frame.value.errorCode === 0).length;
}

async function pair(): Promise<{ ann: ApiUser; conversationId: string }> {
  const [ann, ben] = await registerUsers(gw, 2);
  const conv = (await gw.history.openDirectConversation({ peerUserId: ben.id }, ann.auth)).conversation!;
  return { ann, conversationId: conv.id };
}

describe("send rate limits: a burst passes, a flood is slowed, never cut", () => {
  it("lets a burst within the device's limit through unslowed, and slows a flood until every send is stored", async () => {
    const { ann, conversationId } = await pair();
    const s = await device(ann.token);
    try {
      const before = await limited("send_per_device");
      const delayBefore = await metricValue(sys.httpUrl, "messenger_gateway_send_delay_seconds_total");
      expect(await sendAll(s, conversationId, "burst", 20)).toBe(20);
      expect(await limited("send_per_device")).toBe(before);
      expect(await metricValue(sys.httpUrl, "messenger_gateway_send_delay_seconds_total")).toBe(delayBefore);

      const started = Date.now();
      expect(await sendAll(s, conversationId, "flood", 40)).toBe(40);
      const took = Date.now() - started;
      // The gateway held the frames over the limit back: counted, and the flood took about
      // as long as the bucket needs to refill for it (40 at 20 a second).
      expect(await limited("send_per_device")).toBeGreaterThanOrEqual(before + 30);
      expect(await metricValue(sys.httpUrl, "messenger_gateway_send_delay_seconds_total")).toBeGreaterThan(delayBefore + 1);
      expect(took).toBeGreaterThanOrEqual(1_500);
      // Slowed, not cut: the stream is still open and answers.
      const pong = s.next((f) => f.frame.case === "pong");
      s.send({ frame: { case: "ping", value: { nonce: 7n } } });
      expect((await pong).frame.case).toBe("pong");
      const history = await gw.history.listMessages({ conversationId, pageSize: 100 }, ann.auth);
      expect(history.messages).toHaveLength(60);
    } finally {
      s.close();
    }
  });

  it("slows a user's devices together past the user's limit, each within its own", async () => {
    const { ann, conversationId } = await pair();
    const [phone, laptop] = [await device(ann.token), await device(await ann.tokenFor("laptop"))];
    try {
      const before = await limited("send_per_user");
      const deviceBefore = await limited("send_per_device");
      const stored = await Promise.all([sendAll(phone, conversationId, "phone", 20), sendAll(laptop, conversationId, "laptop", 20)]);
      expect(stored).toEqual([20, 20]);
      expect(await limited("send_per_device")).toBe(deviceBefore);
      expect(await limited("send_per_user")).toBeGreaterThan(before);
    } finally {
      phone.close();
      laptop.close();
    }
  });
});

describe("new streams per user", () => {
  it("refuses a stream past the limit with RESOURCE_EXHAUSTED and a RetryInfo", async () => {
    const [ann] = await registerUsers(gw, 1);
    const open = [await device(ann.token), await device(ann.token)];
    try {
      const requests = createWritableIterable<MessageInitShape<typeof SessionRequestSchema>>();
      const gateway = createClient(GatewayService, createGrpcTransport({ baseUrl: sys.grpcUrl }));
      void requests.write({ frame: { case: "hello", value: { accessToken: ann.token } } });
      const err = await (async () => {
        for await (const _ of gateway.session(requests)) void _;
      })().then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      requests.close();
      expect(err?.code).toBe(Code.ResourceExhausted);
      expect(err?.rawMessage).toMatch(/^too many new sessions; try again in \d+ s$/);
      expect(retryAfterMsOf(err!)).toBeGreaterThan(0);
      expect(retryAfterMsOf(err!)).toBeLessThanOrEqual(1_000);
    } finally {
      for (const s of open) s.close();
    }
  });

  it("the SDK comes back after the RetryInfo's delay, not before", async () => {
    const [ann] = await registerUsers(gw, 1);
    const client = new MessengerClient({ url: sys.grpcUrl, deviceId: "phone", reconnectBaseMs: 1, reconnectMaxMs: 5 });
    const events: { at: number; what: "connected" | "refused"; retryAfterMs?: number }[] = [];
    client.on("connected", () => events.push({ at: Date.now(), what: "connected" }));
    client.on("disconnected", ({ error }) => {
      if (error?.code === Code.ResourceExhausted) events.push({ at: Date.now(), what: "refused", retryAfterMs: retryAfterMsOf(error) });
    });
    try {
      await client.login(ann.username, "correct horse battery");
      await client.connect();
      const before = await limited("new_session_per_user");
      // The gateway cuts the stream twice: the first reconnect takes the second token, the
      // second is refused until a token has refilled.
      for (let cut = 1; cut <= 2; cut++) {
        const connections = events.filter((e) => e.what === "connected").length;
        for (const s of sys.gateway.table.ofUser(ann.id)) s.fail(new ConnectError("cut by the test", Code.Unavailable));
        await eventually(() => events.filter((e) => e.what === "connected").length > connections, `reconnected after cut ${cut}`, 10_000);
      }
      const refused = events.filter((e) => e.what === "refused");
      expect(refused).toHaveLength(1);
      const hint = refused[0]!.retryAfterMs!;
      expect(hint).toBeGreaterThan(0);
      const back = events.find((e) => e.what === "connected" && e.at > refused[0]!.at)!;
      expect(back.at - refused[0]!.at).toBeGreaterThanOrEqual(hint - 1);
      // The gateway refused it once: the SDK did not knock again before the hint.
      expect(await limited("new_session_per_user")).toBe(before + 1);
    } finally {
      await client.close();
    }
  });
});
