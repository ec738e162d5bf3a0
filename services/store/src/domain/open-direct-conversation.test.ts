import { afterAll, describe, expect, it } from "vitest";
import { tempRepos } from "../../test/temp-repo.js";
import { directConversationId } from "../storage/direct-conversation-id.js";
import { openDirectConversation } from "./open-direct-conversation.js";

const repos = tempRepos("open-direct");
afterAll(() => repos.cleanup());

describe("openDirectConversation", () => {
  it("creates the conversation with the retention asked, and returns an existing one with its own", async () => {
    const repo = repos.open();
    const created = await openDirectConversation(repo, "alice", "bob", 1, false, 256, { mode: "disappearing", ttlSeconds: 600 });
    expect(created.conversation.retention).toEqual({ mode: "disappearing", ttlSeconds: 600 });
    const again = await openDirectConversation(repo, "bob", "alice", 2, false, 256, { mode: "store_and_forward", ttlSeconds: 0 });
    expect([again.conversation.id, again.conversation.retention]).toEqual([created.conversation.id, { mode: "disappearing", ttlSeconds: 600 }]);
    expect((await openDirectConversation(repo, "alice", "carol", 3, false, 256)).conversation.retention).toEqual({ mode: "permanent", ttlSeconds: 0 });
  });

  it("refuses a disappearing TTL outside 5 minutes to 90 days with INVALID_ARGUMENT before anything is written", async () => {
    const repo = repos.open();
    for (const ttlSeconds of [299, 90 * 86_400 + 1, 600.5]) {
      await expect(openDirectConversation(repo, "alice", "bob", 1, false, 256, { mode: "disappearing", ttlSeconds })).rejects.toMatchObject({ kind: "invalid_argument" });
    }
    expect(await repo.getConversation(directConversationId("alice", "bob"))).toBeUndefined();
    expect(await repo.userConversations("alice", "", 10)).toEqual([]);
  });
});
