import type { Client, HandlerContext } from "@connectrpc/connect";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import type { Logger } from "@messenger/logging";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { MemberRole, RetentionMode, type Message, type Retention } from "@messenger/proto/chat/v1/types";
import { GroupService } from "@messenger/proto/groups/v1/group_service";
import type { HistoryService } from "@messenger/proto/history/v1/history_service";
import type { RouterService } from "@messenger/proto/router/v1/router_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { createRateLimiter, enforceRateLimit, route, type RateLimit, type ServiceMetrics, type ServiceRoute } from "@messenger/rpc";
import { accountsUserDirectory } from "../adapters/accounts-user-directory.js";
import { peerCallOf, type PeerCall } from "../adapters/peer-call.js";
import { routerEventDelivery } from "../adapters/router-event-delivery.js";
import { retentionModeFromProto, roleToProto, storeGroupStore } from "../adapters/store-group-store.js";
import { GroupError } from "../domain/group-error.js";
import { groupUseCases, type GroupUseCases } from "../domain/group-use-cases.js";
import type { GroupRetention, Role } from "../domain/group-state.js";
import type { RetryPolicy } from "../domain/optimistic-retry.js";
import { callerConversation, conversationAfterCreate, conversationFromView } from "./conversation-view.js";
import { withGroupErrors } from "./group-errors.js";

/** Limits and timings of the groups service. */
export interface GroupsSettings {
  /** Current members a group may have, its owner included (MAX_GROUP_MEMBERS, 1024 by default). */
  readonly maxGroupMembers: number;
  /** How long a change's answer waits for the live push of its system message; @default 1000 */
  readonly deliveryTimeoutMs?: number;
  /** Retries of a change decided on a stale read; @default defaultRetryPolicy (4 tries, ~70 ms at most) */
  readonly retry?: RetryPolicy;
  /** Groups a user may create (GROUP_CREATE_RATE_LIMIT); @default no limit */
  readonly createGroupRateLimit?: RateLimit;
}

/** How long a change's answer waits for the live push of its system message. */
export const deliveryTimeoutOf = (settings: GroupsSettings): number => settings.deliveryTimeoutMs ?? 1_000;

/** What the groups service calls. */
export interface GroupsDeps {
  /** Checks the callers' access tokens. */
  readonly verifier: TokenVerifier;
  /** The message store's internal API (GetGroupState, ApplyGroupChange, ListMembers): where groups live. */
  readonly store: Client<typeof StoreService>;
  /** DeliverMessages: pushes each committed system message to the members' live sessions. */
  readonly router: Client<typeof RouterService>;
  /** The accounts' internal relations: users added to a group must exist and not block the caller. */
  readonly relations: Client<typeof RelationsService>;
  /**
   * The store's public history API, called with the caller's token: when given, CreateGroup
   * and GetGroup answer with the conversation exactly as the caller's inbox shows it (last
   * message, unread count, receipts, retention); without it, with the group's header.
   */
  readonly history?: Client<typeof HistoryService>;
  readonly settings: GroupsSettings;
  readonly log: Logger;
  /** Where refusals by the rate limit are counted. */
  readonly metrics?: ServiceMetrics;
}

/** A role as a request names it; UNSPECIFIED (or a number we do not know) is no role. */
function roleFromRequest(role: MemberRole): Role | undefined {
  if (role === MemberRole.MEMBER) return "member";
  if (role === MemberRole.ADMIN) return "admin";
  if (role === MemberRole.OWNER) return "owner";
  return undefined;
}

/**
 * The retention a CreateGroup request asks for: none (or UNSPECIFIED) is permanent; a mode we
 * do not know is refused here. Its TTL is checked by the store, with SetRetention's rules.
 */
function retentionFromRequest(r: Retention | undefined): GroupRetention | undefined {
  if (!r || r.mode === RetentionMode.UNSPECIFIED) return undefined;
  const mode = retentionModeFromProto(r.mode);
  if (!mode) throw new GroupError("invalid-argument", `retention.mode ${r.mode} is not a retention mode`);
  return { mode, ttlSeconds: r.ttlSeconds };
}

/**
 * The public messenger.groups.v1.GroupService. Handlers only authenticate the caller,
 * translate proto <-> domain and bind the peers to the call; the rules are in src/domain,
 * and refusals become statuses in one place (withGroupErrors).
 */
export function groupsRoute(deps: GroupsDeps): ServiceRoute {
  const deliveryTimeoutMs = deliveryTimeoutOf(deps.settings);
  const createLimiter = createRateLimiter("group_create", deps.settings.createGroupRateLimit, deps.metrics?.registry);

  async function begin(ctx: HandlerContext): Promise<{ me: string; call: PeerCall; groups: GroupUseCases<Message> }> {
    const claims = await authenticate(deps.verifier, ctx.requestHeader);
    const call = peerCallOf(ctx);
    const groups = groupUseCases(
      {
        store: storeGroupStore(deps.store, call),
        users: accountsUserDirectory(deps.relations, call),
        delivery: routerEventDelivery(deps.router, call, deps.log, deliveryTimeoutMs),
      },
      { settings: { maxGroupMembers: deps.settings.maxGroupMembers }, ...(deps.settings.retry ? { retry: deps.settings.retry } : {}) },
    );
    return { me: claims.userId, call, groups };
  }

  return route(
    GroupService,
    withGroupErrors<typeof GroupService>({
      async createGroup(req, ctx) {
        const { me, call, groups } = await begin(ctx);
        // Every attempt counts, refused ones included: each costs the store a transaction.
        enforceRateLimit(createLimiter, me, "new groups");
        const retention = retentionFromRequest(req.retention);
        const { conversationId, committed } = await groups.createGroup(me, {
          title: req.title,
          description: req.description,
          memberUserIds: req.memberUserIds,
          ...(retention ? { retention } : {}),
        });
        const conversation = await callerConversation(deps.history, call, conversationId, () => conversationAfterCreate(conversationId, req.title, req.description, committed), deps.log);
        return { conversation, event: committed.event };
      },
      async getGroup(req, ctx) {
        const { me, call, groups } = await begin(ctx);
        const view = await groups.getGroup(me, req.conversationId);
        return { conversation: await callerConversation(deps.history, call, req.conversationId, () => conversationFromView(view), deps.log) };
      },
      async updateGroupInfo(req, ctx) {
        const { me, groups } = await begin(ctx);
        const committed = await groups.updateGroupInfo(me, req.conversationId, req.title, req.description);
        return committed ? { event: committed.event } : {};
      },
      async addMembers(req, ctx) {
        const { me, groups } = await begin(ctx);
        return { event: (await groups.addMembers(me, req.conversationId, req.userIds)).event };
      },
      async removeMember(req, ctx) {
        const { me, groups } = await begin(ctx);
        return { event: (await groups.removeMember(me, req.conversationId, req.userId)).event };
      },
      async leaveGroup(req, ctx) {
        const { me, groups } = await begin(ctx);
        return { event: (await groups.leaveGroup(me, req.conversationId)).event };
      },
      async setMemberRole(req, ctx) {
        const { me, groups } = await begin(ctx);
        const committed = await groups.setMemberRole(me, req.conversationId, req.userId, roleFromRequest(req.role));
        return committed ? { event: committed.event } : {};
      },
      async transferOwnership(req, ctx) {
        const { me, groups } = await begin(ctx);
        return { event: (await groups.transferOwnership(me, req.conversationId, req.userId)).event };
      },
      async listMembers(req, ctx) {
        const { me, groups } = await begin(ctx);
        const page = await groups.listMembers(me, req.conversationId, req.pageSize, req.pageToken);
        return {
          members: page.members.map((m) => ({ userId: m.userId, role: roleToProto(m.role), joinedSeq: m.joinedSeq })),
          nextPageToken: page.nextPageToken,
          memberCount: page.memberCount,
        };
      },
    }),
    "public",
  );
}
