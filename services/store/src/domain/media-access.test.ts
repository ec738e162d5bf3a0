import { create } from "@bufbuild/protobuf";
import { MediaRefSchema } from "@messenger/proto/chat/v1/types";
import { afterAll, describe, expect, it } from "vitest";
import { scenario, tempRepos } from "../../test/temp-repo.js";
import { canSeeMedia, findMediaReferences, isMember } from "./media-access.js";

const repos = tempRepos("media-access");
afterAll(() => repos.cleanup());

const media = (mediaId: string) => ({ kind: "media" as const, media: create(MediaRefSchema, { mediaId, mimeType: "image/png", sizeBytes: 10n, width: 2, height: 2 }) });

/** g: 1 created (owner, bob, carol) · 2 "early" shared · 3 bob removed · 4 "late" shared · 5 dave added. */
async function group() {
  const repo = repos.open();
  const s = scenario(repo);
  await s.group("g", "owner", ["bob", "carol"]);
  const send = async (mediaId: string, seqExpected: number) => {
    const [o] = await repo.append([{ conversationId: "g", senderUserId: "owner", senderDeviceId: "phone", clientMessageId: mediaId, body: media(mediaId), replyToSeq: 0, clientSentAt: undefined, now: 5_000 + seqExpected }]);
    if (!o!.ok) throw new Error(o!.error);
    expect(o!.message.seq).toBe(seqExpected);
  };
  await send("m_early", 2);
  await s.change("g", "owner", { kind: "removeMember", userId: "bob" });
  await send("m_late", 4);
  await s.change("g", "owner", { kind: "addMembers", userIds: ["dave"] });
  return repo;
}

describe("media access follows membership ranges", () => {
  it("lets a user see a media only through a message inside one of their ranges", async () => {
    const repo = await group();
    const sees = async (user: string, mediaId: string) => canSeeMedia(repo, user, mediaId);
    expect([await sees("carol", "m_early"), await sees("carol", "m_late")]).toEqual([true, true]);
    // Removed before the second one: keeps the first, as its history does.
    expect([await sees("bob", "m_early"), await sees("bob", "m_late")]).toEqual([true, false]);
    // Joined after both: sees neither.
    expect([await sees("dave", "m_early"), await sees("dave", "m_late")]).toEqual([false, false]);
    expect(await sees("stranger", "m_early")).toBe(false);
    expect(await sees("carol", "m_never_sent")).toBe(false);
  });

  it("knows which media are still referenced, and who is a current member", async () => {
    const repo = await group();
    expect(await findMediaReferences(repo, ["m_late", "m_never_sent", "m_early"])).toEqual(["m_late", "m_early"]);
    expect(await isMember(repo, "g", "carol")).toBe(true);
    expect(await isMember(repo, "g", "bob")).toBe(false);
    expect(await isMember(repo, "g", "stranger")).toBe(false);
    expect(await isMember(repo, "nope", "carol")).toBe(false);
  });
});
