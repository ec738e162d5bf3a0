import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { ConversationKind, MemberRole, RetentionMode, type Message, type RetentionSchema } from "@messenger/proto/chat/v1/types";
import type { ApplyGroupChangeRequestSchema, MemberState, StoreService } from "@messenger/proto/store/v1/store_service";
import { GroupError, StaleMemberVersionError } from "../domain/group-error.js";
import type { GroupStore } from "../domain/group-ports.js";
import type { GroupChange, GroupRetention, Membership, Role } from "../domain/group-state.js";
import { peerHeaders, type PeerCall } from "./peer-call.js";

/** A stored role in domain terms; anything but OWNER and ADMIN counts as a plain member. */
export function roleFromProto(role: MemberRole): Role {
  if (role === MemberRole.OWNER) return "owner";
  if (role === MemberRole.ADMIN) return "admin";
  return "member";
}

/** A domain role on the wire. */
export function roleToProto(role: Role): MemberRole {
  return role === "owner" ? MemberRole.OWNER : role === "admin" ? MemberRole.ADMIN : MemberRole.MEMBER;
}

function membershipFromProto(m: MemberState): Membership {
  return { userId: m.userId, role: roleFromProto(m.role), active: m.active, joinedSeq: m.joinedSeq };
}

type ChangeInit = MessageInitShape<typeof ApplyGroupChangeRequestSchema>["change"];

const retentionModes: Readonly<Record<GroupRetention["mode"], RetentionMode>> = {
  permanent: RetentionMode.PERMANENT,
  store_and_forward: RetentionMode.STORE_AND_FORWARD,
  disappearing: RetentionMode.DISAPPEARING,
};

/** A domain retention on the wire. */
export function retentionToProto(r: GroupRetention): MessageInitShape<typeof RetentionSchema> {
  return { mode: retentionModes[r.mode], ttlSeconds: r.ttlSeconds };
}

/** A retention mode from the wire in domain terms; undefined for UNSPECIFIED and for a mode we do not know. */
export function retentionModeFromProto(m: RetentionMode): GroupRetention["mode"] | undefined {
  return (Object.keys(retentionModes) as GroupRetention["mode"][]).find((k) => retentionModes[k] === m);
}

function changeToProto(c: GroupChange): ChangeInit {
  switch (c.kind) {
    case "create":
      return { case: "create", value: { title: c.title, description: c.description, memberUserIds: [...c.memberUserIds], retention: retentionToProto(c.retention) } };
    case "add-members":
      return { case: "addMembers", value: { userIds: [...c.userIds] } };
    case "remove-member":
      return { case: "removeMember", value: { userId: c.userId } };
    case "leave":
      return { case: "leave", value: {} };
    case "set-role":
      return { case: "setRole", value: { userId: c.userId, role: roleToProto(c.role) } };
    case "transfer-ownership":
      return { case: "transferOwnership", value: { toUserId: c.toUserId } };
    case "update-info":
      return { case: "updateInfo", value: { title: c.title, description: c.description } };
  }
}

/**
 * The message store's internal group API as a GroupStore for one incoming call:
 * GetGroupState, ApplyGroupChange (ABORTED becomes StaleMemberVersionError) and ListMembers.
 * Other store errors pass through as they are.
 */
export function storeGroupStore(store: Client<typeof StoreService>, call: PeerCall): GroupStore<Message> {
  const headers = peerHeaders(call, false);
  return {
    async readState(conversationId, userIds) {
      let res;
      try {
        res = await store.getGroupState({ conversationId, userIds: [...userIds] }, { headers, signal: call.signal });
      } catch (err) {
        if (err instanceof ConnectError && err.code === Code.NotFound) throw new GroupError("group-not-found", `group ${conversationId} not found`, { cause: err });
        throw err;
      }
      if (res.kind !== ConversationKind.GROUP && res.kind !== ConversationKind.DIRECT) throw new GroupError("group-not-found", `group ${conversationId} not found`);
      return {
        conversationId,
        kind: res.kind === ConversationKind.GROUP ? "group" : "direct",
        title: res.title,
        description: res.description,
        memberVersion: res.memberVersion,
        memberCount: res.memberCount,
        lastSeq: res.lastSeq,
        members: new Map(res.members.map((m) => [m.userId, membershipFromProto(m)])),
      };
    },

    async apply(conversationId, actorUserId, decision) {
      let res;
      try {
        // Not cancelled with the caller: once sent, a change either commits whole or not at all.
        res = await store.applyGroupChange(
          { actorUserId, conversationId, expectedMemberVersion: decision.expectedMemberVersion, change: changeToProto(decision.change) },
          { headers },
        );
      } catch (err) {
        if (err instanceof ConnectError && err.code === Code.Aborted) throw new StaleMemberVersionError(conversationId, { cause: err });
        throw err;
      }
      if (!res.event) throw new Error(`store committed a change to ${conversationId} without a system message`);
      return { event: res.event, memberVersion: res.memberVersion, memberCount: res.memberCount };
    },

    async listMembers(conversationId, pageSize, pageToken) {
      const res = await store.listMembers({ conversationId, pageSize, pageToken }, { headers, signal: call.signal });
      return { members: res.members.map(membershipFromProto), nextPageToken: res.nextPageToken, memberCount: res.memberCount };
    },
  };
}
