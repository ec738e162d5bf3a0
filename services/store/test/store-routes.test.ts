import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { MediaRefSchema } from "@messenger/proto/chat/v1/types";
import { SendMessageSchema, type SendMessage } from "@messenger/proto/gateway/v1/gateway_service";
import { createLogger } from "@messenger/logging";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { instrumentRoute } from "@messenger/rpc";
import { afterAll, describe, expect, it } from "vitest";
import { storeRoute } from "../src/rpc/store-service.js";
import { tempRepos } from "./temp-repo.js";

const repos = tempRepos("routes");
afterAll(() => repos.cleanup());

function client() {
  const repo = repos.open();
  // Served as every transport serves it: through instrumentRoute, whose toWireError maps
  // domain errors to their statuses.
  const r = instrumentRoute(storeRoute({ repo, now: () => 5_000, largeGroupThreshold: 256 }), createLogger("store-routes-test", "silent"));
  const transport = createRouterTransport((router) => router.service(StoreService, r.impl as never));
  return { repo, store: createClient(StoreService, transport) };
}

describe("StoreService routes", () => {
  it("stores every body kind from a SendMessage and answers each item with its own status", async () => {
    const { repo, store } = client();
    const conv = await repo.openDirect("alice", "bob", 1, false);
    const item = (clientMessageId: string, body: SendMessage["body"], sender = "alice") => ({
      message: create(SendMessageSchema, { conversationId: conv.id, clientMessageId, body }),
      senderUserId: sender,
      senderDeviceId: "phone",
    });
    const res = await store.appendMessages({
      items: [
        item("t", { case: "text", value: "hello" }),
        item("m", { case: "media", value: create(MediaRefSchema, { mediaId: "x", mimeType: "image/png", sizeBytes: 10n }) }),
        item("none", { case: undefined }),
        item("stranger", { case: "text", value: "hi" }, "mallory"),
      ],
    });
    expect(res.results.map((r) => [r.message?.seq, r.message?.body.case, r.errorCode])).toEqual([
      [1n, "text", 0],
      [2n, "media", 0],
      [undefined, undefined, Code.InvalidArgument],
      [undefined, undefined, Code.PermissionDenied],
    ]);
    expect(res.results[0]).toMatchObject({ memberCount: 2, duplicate: false });
    expect(res.results[0]!.memberVersion).toBeGreaterThan(0n);
    const cursors = await store.updateCursors({ items: [{ conversationId: conv.id, userId: "bob", deviceId: "phone", readSeq: 2n }, { conversationId: conv.id, userId: "bob", deviceId: "phone", readSeq: 9n }] });
    expect(cursors.results.map((r) => [r.changed, r.receipt?.readSeq, r.summary?.readAllSeq, r.errorCode])).toEqual([
      [true, 2n, 2n, 0],
      [false, undefined, undefined, Code.OutOfRange],
    ]);
  });

  it("records blocks and contacts with SetDirectRelation, whether or not the conversation exists, and refuses sends across a block", async () => {
    const { repo, store } = client();
    const send = (conversationId: string, clientMessageId: string, sender: string) => ({
      message: create(SendMessageSchema, { conversationId, clientMessageId, body: { case: "text", value: "hi" } }),
      senderUserId: sender,
      senderDeviceId: "phone",
    });
    await store.setDirectRelation({ userId: "alice", peerUserId: "bob", blocking: true });
    const conv = await repo.openDirect("alice", "bob", 1, false);
    const refused = await store.appendMessages({ items: [send(conv.id, "a1", "alice"), send(conv.id, "b1", "bob")] });
    expect(refused.results.map((r) => r.errorCode)).toEqual([Code.PermissionDenied, Code.PermissionDenied]);
    await store.setDirectRelation({ userId: "alice", peerUserId: "bob", blocking: false, contact: true });
    const sent = await store.appendMessages({ items: [send(conv.id, "b1", "bob")] });
    expect(sent.results.map((r) => [r.message?.seq, r.errorCode])).toEqual([[1n, 0]]);
    const self = await store.setDirectRelation({ userId: "alice", peerUserId: "alice", blocking: true }).catch((e: unknown) => ConnectError.from(e));
    expect((self as ConnectError).code).toBe(Code.InvalidArgument);
    const missing = await store.setDirectRelation({ userId: "alice", peerUserId: "", blocking: true }).catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("maps group changes and their refusals to gRPC codes, reading identity only from the body", async () => {
    const { store } = client();
    const created = await store.applyGroupChange({ actorUserId: "owner", conversationId: "g", change: { case: "create", value: { title: "t", memberUserIds: ["bob"] } } });
    expect(created).toMatchObject({ memberCount: 2, event: { seq: 1n, body: { case: "system" } } });
    const again = await store.applyGroupChange({ actorUserId: "owner", conversationId: "g", change: { case: "create", value: { title: "t" } } }).catch((e: unknown) => ConnectError.from(e));
    expect((again as ConnectError).code).toBe(Code.AlreadyExists);
    const stale = await store
      .applyGroupChange({ actorUserId: "owner", conversationId: "g", expectedMemberVersion: created.memberVersion + 1n, change: { case: "addMembers", value: { userIds: ["carol"] } } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((stale as ConnectError).code).toBe(Code.Aborted);
    const badRole = await store
      .applyGroupChange({ actorUserId: "owner", conversationId: "g", expectedMemberVersion: created.memberVersion, change: { case: "setRole", value: { userId: "bob", role: 3 } } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((badRole as ConnectError).code).toBe(Code.InvalidArgument);
    const ranges = await store.getMemberRanges({ conversationId: "g" });
    expect(ranges).toMatchObject({ memberVersion: created.memberVersion, unchanged: false, memberCount: 2 });
    expect(ranges.ranges.map((r) => [r.userId, r.fromSeq, r.toSeq])).toEqual([["bob", 1n, 0n], ["owner", 1n, 0n]]);
    expect(await store.getMemberRanges({ conversationId: "g", knownMemberVersion: created.memberVersion })).toMatchObject({ unchanged: true, ranges: [] });
    const state = await store.getGroupState({ conversationId: "g", userIds: ["owner", "zed"] });
    expect(state.members.map((m) => [m.userId, m.role, m.active, m.joinedSeq])).toEqual([["owner", 3, true, 1n]]);
    const sync = await store.sync({ userId: "bob", deviceId: "phone" });
    expect(sync.conversations.map((c) => [c.conversationId, c.lastSeq, c.messages.length])).toEqual([["g", 1n, 1]]);
    expect((await store.listMembers({ conversationId: "g" })).members.map((m) => m.userId)).toEqual(["bob", "owner"]);
    const missing = await store.readMessages({ userId: "bob", conversationId: "nope" }).catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);
  });
});
