import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createTokenIssuer, createTokenVerifier, type TokenIssuer } from "@messenger/auth";
import { createLogger } from "@messenger/logging";
import { RelationSchema, RelationsService, type GetRelationsRequest } from "@messenger/proto/accounts/v1/relations_service";
import { Folder, HistoryService } from "@messenger/proto/history/v1/history_service";
import { instrumentRoute } from "@messenger/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyRoute } from "../src/rpc/history-service.js";
import type { HistoryRepository } from "../src/storage/history-repository.js";
import { scenario, tempRepos } from "./temp-repo.js";

const repos = tempRepos("history-routes");
afterAll(() => repos.cleanup());
let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await createTokenIssuer({ keyPath: join(repos.dir, "key.json"), ttlSeconds: 600 });
});

/**
 * The public history routes over Connect's in-memory transport, as every transport serves
 * them (instrumentRoute maps domain errors to statuses), against a real SQLite file. Accounts'
 * RelationsService is a small stand-in over its own in-memory transport: users alice, bob and
 * carol exist; bob keeps message requests apart. `whileAsked` runs before accounts answers,
 * so a test can commit something in the store between accounts' read and the store's write.
 */
function setup(opts: { whileAsked?: (repo: HistoryRepository) => Promise<void> } = {}) {
  const repo = repos.open();
  const asked: GetRelationsRequest[] = [];
  const users = new Set(["alice", "bob", "carol"]);
  const accounts = createRouterTransport((router) =>
    router.service(RelationsService, {
      async getRelations(req) {
        asked.push(req);
        await opts.whileAsked?.(repo);
        return {
          relations: req.peerUserIds.map((peer) =>
            create(RelationSchema, { peerUserId: peer, exists: users.has(peer), landsInRequests: users.has(peer) && peer === "bob" }),
          ),
        };
      },
      listPresenceAudience() {
        return { userIds: [] };
      },
    }),
  );
  const verifier = createTokenVerifier({ jwks: issuer.jwks() });
  const r = instrumentRoute(
    historyRoute({ repo, verifier, relations: createClient(RelationsService, accounts), now: () => 5_000, largeGroupThreshold: 256 }),
    createLogger("history-routes-test", "silent"),
  );
  const history = createClient(HistoryService, createRouterTransport((router) => router.service(HistoryService, r.impl as never)));
  const as = async (userId: string) => ({ headers: { authorization: `Bearer ${(await issuer.issue({ userId, deviceId: "phone" })).token}` } });
  const code = (p: Promise<unknown>) => p.then(() => Code[0], (e: unknown) => Code[ConnectError.from(e).code]);
  return { repo, history, asked, as, code };
}

describe("HistoryService routes: opening, requests and blocks", () => {
  it("opens a direct conversation into the peer's requests as accounts says, and moves it with Accept and Delete", async () => {
    const { repo, history, asked, as, code } = setup();
    const alice = await as("alice");
    const bob = await as("bob");
    const opened = await history.openDirectConversation({ peerUserId: "bob" }, alice);
    expect(opened.conversation).toMatchObject({ request: false, memberUserIds: ["alice", "bob"] });
    expect(asked).toEqual([expect.objectContaining({ userId: "alice", peerUserIds: ["bob"] })]);
    const id = opened.conversation!.id;
    const s = scenario(repo);
    const list = async (folder: Folder, who = bob) => (await history.listConversations({ folder }, who)).conversations.map((c) => [c.id, c.request]);
    expect(await list(Folder.REQUESTS)).toEqual([]);
    await s.send(id, "alice");
    expect(await list(Folder.REQUESTS)).toEqual([[id, true]]);
    expect(await list(Folder.UNSPECIFIED)).toEqual([]);
    expect(await list(Folder.INBOX, alice)).toEqual([[id, false]]);
    expect((await history.getConversation({ conversationId: id }, bob)).conversation?.request).toBe(true);

    expect(await code(history.deleteMessageRequest({ conversationId: id }, alice))).toBe("FailedPrecondition");
    await history.deleteMessageRequest({ conversationId: id }, bob);
    expect(await list(Folder.REQUESTS)).toEqual([]);
    await s.send(id, "alice");
    expect(await list(Folder.REQUESTS)).toEqual([[id, true]]);
    const accepted = await history.acceptMessageRequest({ conversationId: id }, bob);
    expect(accepted.conversation).toMatchObject({ id, request: false, lastSeq: 2n });
    expect(await list(Folder.INBOX)).toEqual([[id, false]]);
    expect(await code(history.acceptMessageRequest({ conversationId: id }, await as("carol")))).toBe("NotFound");
    expect(await code(history.acceptMessageRequest({ conversationId: "" }, bob))).toBe("InvalidArgument");
  });

  it("files the conversation in the peer's inbox when the two become contacts after accounts answered that it lands in requests", async () => {
    // Accounts tells the store of a new contact (both sides) before it commits the contact
    // itself; here that lands after accounts read the pair as strangers, before the open writes.
    const { repo, history, as } = setup({
      whileAsked: async (store) => {
        await store.setDirectRelation("alice", "bob", false, true);
        await store.setDirectRelation("bob", "alice", false, true);
      },
    });
    const bob = await as("bob");
    const opened = await history.openDirectConversation({ peerUserId: "bob" }, await as("alice"));
    const id = opened.conversation!.id;
    await scenario(repo).send(id, "alice");
    const list = async (folder: Folder) => (await history.listConversations({ folder }, bob)).conversations.map((c) => [c.id, c.request]);
    expect(await list(Folder.INBOX)).toEqual([[id, false]]);
    expect(await list(Folder.REQUESTS)).toEqual([]);
  });

  it("answers NOT_FOUND for an unknown peer, PERMISSION_DENIED for a peer who blocks the caller, and asks accounts nothing to open with oneself", async () => {
    const { repo, history, asked, as, code } = setup();
    const carol = await as("carol");
    expect(await code(history.openDirectConversation({ peerUserId: "zed" }, carol))).toBe("NotFound");
    await repo.setDirectRelation("alice", "carol", true, false);
    expect(await code(history.openDirectConversation({ peerUserId: "alice" }, carol))).toBe("PermissionDenied");
    // The blocker opens it: it exists, and the blocked user still may not.
    expect((await history.openDirectConversation({ peerUserId: "carol" }, await as("alice"))).conversation).toMatchObject({ request: false });
    expect(await code(history.openDirectConversation({ peerUserId: "alice" }, carol))).toBe("PermissionDenied");
    asked.length = 0;
    expect(await code(history.openDirectConversation({ peerUserId: "carol" }, carol))).toBe("InvalidArgument");
    expect(asked).toEqual([]);
    expect(await code(history.openDirectConversation({ peerUserId: "bob" }, { headers: {} }))).toBe("Unauthenticated");
  });
});
