import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  GetRelationsResponseSchema,
  ListPresenceAudienceResponseSchema,
  type GetRelationsRequestSchema,
  type GetRelationsResponse,
  type ListPresenceAudienceRequestSchema,
  type ListPresenceAudienceResponse,
} from "@messenger/proto/accounts/v1/relations_service";
import type { RelationsClient } from "./presence-tracker.js";

/**
 * Test stand-in for accounts' RelationsService over a small in-memory table, with the rules
 * the service documents: presence is shared between contacts, never across a block either
 * way, and not at all by a user who shows it to nobody. Usable as a client and as a
 * ServiceImpl for Connect's router transport.
 */
export class FakeRelations implements RelationsClient {
  private readonly users = new Set<string>();
  private readonly contacts = new Set<string>();
  private readonly blocks = new Set<string>();
  private readonly hidden = new Set<string>();

  constructor(userIds: readonly string[]) {
    for (const u of userIds) this.users.add(u);
  }

  befriend(a: string, b: string): this {
    this.contacts.add(`${a}|${b}`).add(`${b}|${a}`);
    return this;
  }

  block(blocker: string, blocked: string): this {
    this.blocks.add(`${blocker}|${blocked}`);
    return this;
  }

  /** `userId` shows presence to nobody. */
  hide(userId: string): this {
    this.hidden.add(userId);
    return this;
  }

  private sees(viewer: string, peer: string): boolean {
    return this.contacts.has(`${viewer}|${peer}`) && !this.blocks.has(`${viewer}|${peer}`) && !this.blocks.has(`${peer}|${viewer}`) && !this.hidden.has(peer);
  }

  async getRelations(req: MessageInitShape<typeof GetRelationsRequestSchema>): Promise<GetRelationsResponse> {
    const viewer = req.userId ?? "";
    return create(GetRelationsResponseSchema, {
      relations: (req.peerUserIds ?? []).map((peer) =>
        this.users.has(peer)
          ? {
              peerUserId: peer,
              exists: true,
              contact: this.contacts.has(`${viewer}|${peer}`),
              blocking: this.blocks.has(`${viewer}|${peer}`),
              blockedBy: this.blocks.has(`${peer}|${viewer}`),
              presenceVisible: this.sees(viewer, peer),
            }
          : { peerUserId: peer },
      ),
    });
  }

  async listPresenceAudience(req: MessageInitShape<typeof ListPresenceAudienceRequestSchema>): Promise<ListPresenceAudienceResponse> {
    const user = req.userId ?? "";
    return create(ListPresenceAudienceResponseSchema, { userIds: [...this.users].filter((u) => u !== user && this.sees(u, user)) });
  }
}
