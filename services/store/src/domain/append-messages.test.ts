import Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempRepos } from "../../test/temp-repo.js";
import { appendMessages, type AppendMessageInput } from "./append-messages.js";

const repos = tempRepos("append");
afterAll(() => repos.cleanup());

const send = (conversationId: string, clientMessageId: string, over: Partial<AppendMessageInput> = {}): AppendMessageInput => ({
  conversationId,
  clientMessageId,
  body: { kind: "text", text: "hi" },
  replyToSeq: 0,
  clientSentAt: undefined,
  senderUserId: "alice",
  senderDeviceId: "phone",
  ...over,
});
const outcome = (r: Awaited<ReturnType<typeof appendMessages>>[number]) => (r.ok ? r.message.seq : r.error.kind);

describe("appendMessages", () => {
  it("refuses a message for what it is without holding back the rest, and stores the rest in order", async () => {
    const repo = repos.open();
    const conv = await repo.openDirect("alice", "bob", 1, false);
    const results = await appendMessages(
      repo,
      [
        send(conv.id, "m1"),
        send(conv.id, "m2", { body: { kind: "text", text: "" } }),
        send(conv.id, "m3", { senderUserId: "mallory" }),
        send(conv.id, "m4", { body: undefined }),
        send(conv.id, "m5", { replyToSeq: 9 }),
        send(conv.id, "m6", { replyToSeq: 1 }),
        send(conv.id, ""),
      ],
      10,
    );
    expect(results.map(outcome)).toEqual([1, "invalid_argument", "permission_denied", "invalid_argument", "invalid_argument", 2, "invalid_argument"]);
    const ok = results[0]!;
    expect(ok.ok && ok.memberCount).toBe(2);
    expect(ok.ok && ok.memberVersion).toBeGreaterThan(0);
  });

  it("answers UNAVAILABLE for a message that failed to be stored and every one after it", async () => {
    const repo = repos.open("fail.db");
    const conv = await repo.openDirect("alice", "bob", 1, false);
    const other = new Database(join(repos.dir, "fail.db"));
    other.exec("CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.client_message_id = 'boom' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    other.close();
    const results = await appendMessages(repo, [send(conv.id, "m1"), send(conv.id, "boom"), send(conv.id, "m3")], 10);
    expect(results.map(outcome)).toEqual([1, "unavailable", "unavailable"]);
    expect(results[1]!.ok ? "" : results[1]!.error.message).not.toMatch(/disk/);
    expect((await repo.listMessages(conv.id, { limit: 10, direction: "forward" })).map((m) => m.clientMessageId)).toEqual(["m1"]);
  });

  it("refuses more than the batch limit as a whole", async () => {
    const repo = repos.open();
    await expect(appendMessages(repo, Array.from({ length: 257 }, (_, i) => send("c", `m${i}`)), 1)).rejects.toMatchObject({ kind: "invalid_argument" });
  });
});
