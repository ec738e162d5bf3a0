import { create } from "@bufbuild/protobuf";
import { GroupCreatedSchema, MemberRole as ProtoRole, SystemEventSchema, type SystemEvent } from "@messenger/proto/chat/v1/types";
import { permanentRetention, type ConversationRecord, type MemberRecord, type MemberRole, type RetentionPolicy } from "../storage/history-repository.js";
import { DomainError, failedPrecondition, invalidArgument, notFound } from "./errors.js";
import { limits } from "./limits.js";
import { requireId } from "./membership.js";
import { checkRetention, protoRetentionModes } from "./retention.js";

/** A change of a group, as the groups service decided it. A create without a retention makes a permanent group. */
export type GroupChange =
  | { readonly kind: "create"; readonly title: string; readonly description: string; readonly memberUserIds: readonly string[]; readonly retention?: RetentionPolicy }
  | { readonly kind: "addMembers"; readonly userIds: readonly string[] }
  | { readonly kind: "removeMember"; readonly userId: string }
  | { readonly kind: "leave" }
  | { readonly kind: "setRole"; readonly userId: string; readonly role: "member" | "admin" }
  | { readonly kind: "transferOwnership"; readonly toUserId: string }
  | { readonly kind: "updateInfo"; readonly title: string; readonly description: string };

/** One group change request, with the member version it was decided on (0 for create). */
export interface GroupChangeInput {
  readonly conversationId: string;
  readonly actorUserId: string;
  readonly expectedMemberVersion: number;
  readonly change: GroupChange;
  readonly now: number;
}

/** What a change does to one membership; seqs are filled in by the adapter (the event's seq). */
export type MemberOp =
  | { readonly op: "join"; readonly userId: string; readonly role: MemberRole }
  | { readonly op: "end"; readonly userId: string }
  | { readonly op: "setRole"; readonly userId: string; readonly role: MemberRole };

/** A change decided against the group's state: what the adapter writes in one transaction. */
export interface GroupChangePlan {
  /** Set for create: the conversation row to insert, with its retention (checked). */
  readonly create: { readonly title: string; readonly description: string; readonly retention: RetentionPolicy } | undefined;
  /** Set when the title and description change. */
  readonly info: { readonly title: string; readonly description: string } | undefined;
  readonly memberOps: readonly MemberOp[];
  /** Current members after the change. */
  readonly memberCount: number;
  /** The system message's body. */
  readonly event: SystemEvent;
}

const roleToProto: Record<MemberRole, ProtoRole> = { owner: ProtoRole.OWNER, admin: ProtoRole.ADMIN, member: ProtoRole.MEMBER };

function requireUserList(ids: readonly string[], what: string, actor: string): void {
  if (ids.length > limits.group.maxUsersPerChange) throw invalidArgument(`at most ${limits.group.maxUsersPerChange} ${what} per change`);
  const seen = new Set<string>();
  for (const id of ids) {
    requireId(id, `each of ${what}`);
    if (seen.has(id)) throw invalidArgument(`${what} lists ${id} twice`);
    if (id === actor) throw invalidArgument(`${what} must not list the actor`);
    seen.add(id);
  }
}

function requireInfo(title: string, description: string): void {
  if (title.length > limits.group.maxTitleChars) throw invalidArgument(`title exceeds ${limits.group.maxTitleChars} characters`);
  if (description.length > limits.group.maxDescriptionChars) throw invalidArgument(`description exceeds ${limits.group.maxDescriptionChars} characters`);
}

/** Checks a change for what it is, before any storage is touched. */
export function validateGroupChange(input: GroupChangeInput): void {
  requireId(input.conversationId, "conversation_id");
  requireId(input.actorUserId, "actor_user_id");
  const c = input.change;
  switch (c.kind) {
    case "create":
      if (input.expectedMemberVersion !== 0) throw invalidArgument("expected_member_version must be 0 to create a group");
      requireInfo(c.title, c.description);
      requireUserList(c.memberUserIds, "member_user_ids", input.actorUserId);
      // The rules of SetRetention, in the one place they live.
      checkRetention(c.retention ?? permanentRetention);
      return;
    case "addMembers":
      if (c.userIds.length === 0) throw invalidArgument("user_ids must not be empty");
      requireUserList(c.userIds, "user_ids", input.actorUserId);
      return;
    case "removeMember":
      requireId(c.userId, "user_id");
      if (c.userId === input.actorUserId) throw invalidArgument("to remove yourself, leave");
      return;
    case "setRole":
      requireId(c.userId, "user_id");
      return;
    case "transferOwnership":
      requireId(c.toUserId, "to_user_id");
      if (c.toUserId === input.actorUserId) throw invalidArgument("the owner cannot transfer ownership to themselves");
      return;
    case "updateInfo":
      requireInfo(c.title, c.description);
      return;
    case "leave":
      return;
  }
}

/** The users whose membership rows a change reads: the actor and its targets. */
export function usersInvolved(input: GroupChangeInput): string[] {
  const c = input.change;
  const targets =
    c.kind === "create" ? c.memberUserIds
    : c.kind === "addMembers" ? c.userIds
    : c.kind === "removeMember" || c.kind === "setRole" ? [c.userId]
    : c.kind === "transferOwnership" ? [c.toUserId]
    : [];
  return [input.actorUserId, ...targets];
}

/**
 * Decides a change against the group as it stands; the adapter calls it inside the write
 * transaction, so the check and the write are atomic. The store checks only structural
 * invariants (kind, version, who is a current member, exactly one owner); who may do what is
 * the groups service's decision.
 */
export function planGroupChange(state: { conversation: ConversationRecord | undefined; members: ReadonlyMap<string, MemberRecord> }, input: GroupChangeInput): GroupChangePlan {
  const { conversation: conv, members } = state;
  const c = input.change;
  const actor = input.actorUserId;
  const event = (e: SystemEvent["event"]): SystemEvent => create(SystemEventSchema, { actorUserId: actor, event: e });
  if (c.kind === "create") {
    if (conv) throw new DomainError("already_exists", `conversation ${input.conversationId} already exists`);
    const retention = checkRetention(c.retention ?? permanentRetention);
    return {
      create: { title: c.title, description: c.description, retention },
      info: undefined,
      memberOps: [{ op: "join", userId: actor, role: "owner" }, ...c.memberUserIds.map((userId) => ({ op: "join" as const, userId, role: "member" as const }))],
      memberCount: 1 + c.memberUserIds.length,
      // Members learn the retention from the first message they can read, not only from the head.
      event: event({
        case: "groupCreated",
        value: create(GroupCreatedSchema, {
          title: c.title,
          memberUserIds: [actor, ...c.memberUserIds],
          retention: { mode: protoRetentionModes[retention.mode], ttlSeconds: retention.ttlSeconds },
        }),
      }),
    };
  }
  if (!conv) throw notFound(`conversation ${input.conversationId} not found`);
  if (conv.kind !== "group") throw failedPrecondition(`conversation ${conv.id} is not a group`);
  if (conv.memberVersion !== input.expectedMemberVersion) {
    throw new DomainError("aborted", `the group changed meanwhile: member_version is ${conv.memberVersion}, not ${input.expectedMemberVersion}; read it again and retry`);
  }
  const active = (userId: string): MemberRecord | undefined => {
    const m = members.get(userId);
    return m?.active ? m : undefined;
  };
  const requireActive = (userId: string, who: string): MemberRecord => {
    const m = active(userId);
    if (!m) throw failedPrecondition(`${who} ${userId} is not a current member of ${conv.id}`);
    return m;
  };
  const actorRow = requireActive(actor, "actor");
  const same = (memberOps: MemberOp[], e: SystemEvent, memberCount = conv.memberCount): GroupChangePlan => ({ create: undefined, info: undefined, memberOps, memberCount, event: e });
  switch (c.kind) {
    case "addMembers": {
      for (const u of c.userIds) if (active(u)) throw failedPrecondition(`${u} is already a member of ${conv.id}`);
      return same(
        c.userIds.map((userId) => ({ op: "join", userId, role: "member" })),
        event({ case: "membersAdded", value: { $typeName: "messenger.chat.v1.MembersAdded", userIds: [...c.userIds] } }),
        conv.memberCount + c.userIds.length,
      );
    }
    case "removeMember": {
      const target = requireActive(c.userId, "user");
      if (target.role === "owner") throw failedPrecondition("the owner cannot be removed; transfer ownership first");
      return same([{ op: "end", userId: c.userId }], event({ case: "memberRemoved", value: { $typeName: "messenger.chat.v1.MemberRemoved", userId: c.userId } }), conv.memberCount - 1);
    }
    case "leave": {
      if (actorRow.role === "owner" && conv.memberCount > 1) throw failedPrecondition("the owner must transfer ownership before leaving");
      return same([{ op: "end", userId: actor }], event({ case: "memberLeft", value: { $typeName: "messenger.chat.v1.MemberLeft", userId: actor } }), conv.memberCount - 1);
    }
    case "setRole": {
      const target = requireActive(c.userId, "user");
      if (target.role === "owner") throw failedPrecondition("the owner's role changes only by transferring ownership");
      return same(
        [{ op: "setRole", userId: c.userId, role: c.role }],
        event({ case: "roleChanged", value: { $typeName: "messenger.chat.v1.RoleChanged", userId: c.userId, role: roleToProto[c.role] } }),
      );
    }
    case "transferOwnership": {
      if (actorRow.role !== "owner") throw failedPrecondition(`${actor} is not the owner of ${conv.id}`);
      requireActive(c.toUserId, "user");
      return same(
        [
          { op: "setRole", userId: actor, role: "admin" },
          { op: "setRole", userId: c.toUserId, role: "owner" },
        ],
        event({ case: "ownershipTransferred", value: { $typeName: "messenger.chat.v1.OwnershipTransferred", fromUserId: actor, toUserId: c.toUserId } }),
      );
    }
    case "updateInfo":
      return {
        ...same([], event({ case: "infoChanged", value: { $typeName: "messenger.chat.v1.GroupInfoChanged", title: c.title, description: c.description } })),
        info: { title: c.title, description: c.description },
      };
  }
}
