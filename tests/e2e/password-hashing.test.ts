import { Code, ConnectError } from "@connectrpc/connect";
import { retryAfterMsOf } from "@messenger/rpc";
import { eventually } from "@messenger/testing";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, registerUser, type Api, type ApiUser } from "../support/api-user.js";
import { metricValue } from "../support/metrics.js";

// A real scrypt cost (2^16: 64 MiB and several hundred ms per hash here) with as many
// hashing threads as libuv's shared pool has (4): if the hashes ran on that pool, they would
// hold every thread that token checks (WebCrypto) need.
const threads = 4;
const queueLimit = 4;
const password = "correct horse battery";
let sys: TestSystem;
let a: Api;
let bystander: ApiUser;
let stormer: ApiUser;

beforeAll(async () => {
  sys = await startTestSystem({ SCRYPT_LOG_N: "16", PASSWORD_HASH_CONCURRENCY: String(threads), PASSWORD_HASH_QUEUE_LIMIT: String(queueLimit) });
  a = api(sys.grpcUrl);
  [bystander, stormer] = [await registerUser(a), await registerUser(a)];
}, 60_000);
afterAll(async () => {
  a.close();
  await sys.dispose();
});

const metric = (name: string, labels: Record<string, string> = {}): Promise<number> => metricValue(sys.httpUrl, name, labels);
const listConversationsTime = (): Promise<number> =>
  metric("messenger_rpc_duration_seconds_sum", { rpc: "messenger.history.v1.HistoryService/ListConversations", code: "OK" });

describe("a login storm", () => {
  it("fills the hashing queue, the rest are refused with RESOURCE_EXHAUSTED and a retry delay, and other users' calls do not wait for it", async () => {
    const storm = Array.from({ length: 24 }, (_, i) =>
      a.accounts.login({ username: stormer.username, password, deviceId: `storm-${i}` }).then(
        (res) => res.tokens!.accessToken,
        (err: unknown) => ConnectError.from(err),
      ),
    );
    await eventually(async () => (await metric("messenger_password_hash_queue_depth")) === queueLimit && (await metric("messenger_password_hash_in_progress")) === threads, "the hashing queue is full");

    // An unrelated user's authenticated calls, each checking its access token, while every
    // hashing thread is busy and the queue is full.
    const hashesBefore = await metric("messenger_password_hash_duration_seconds_count");
    const serverTimeBefore = await listConversationsTime();
    for (let i = 0; i < 5; i++) await a.history.listConversations({}, bystander.auth);
    const serverTime = (await listConversationsTime()) - serverTimeBefore;
    // The server's own clock: the five calls together took less than one hash takes. Had they
    // queued behind the hashes, each would have waited for one to finish.
    const hashesDone = (await metric("messenger_password_hash_duration_seconds_count")) - hashesBefore;
    const oneHash = (await metric("messenger_password_hash_duration_seconds_sum")) / (await metric("messenger_password_hash_duration_seconds_count"));
    expect(serverTime).toBeLessThan(oneHash);
    expect(hashesDone).toBeLessThanOrEqual(threads);

    const outcomes = await Promise.all(storm);
    const tokens = outcomes.filter((o): o is string => typeof o === "string");
    const refused = outcomes.filter((o): o is ConnectError => o instanceof ConnectError);
    // Those running and those queued when the queue was seen full got in; nothing else failed.
    expect(tokens.length).toBeGreaterThanOrEqual(threads + queueLimit);
    expect(refused.length).toBeGreaterThan(0);
    expect(tokens.length + refused.length).toBe(24);
    for (const err of refused) {
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/^too many logins and registrations at once; try again in \d+ s$/);
      expect(retryAfterMsOf(err)).toBeGreaterThan(0);
    }
    expect(await metric("messenger_password_hash_refused_total")).toBe(refused.length);
    // The tokens the storm got work, and the server still logs people in.
    await a.history.listConversations({}, { headers: { authorization: `Bearer ${tokens[0]}` } });
    await a.accounts.login({ username: bystander.username, password, deviceId: "after" });
    expect(await metric("messenger_password_hash_queue_depth")).toBe(0);
  }, 60_000);
});
