import type { SessionRecord } from "@messenger/bus";

/**
 * Live sessions by user, looked up once for a whole batch, so that each recipient set can be
 * addressed as one list of users per gateway that holds one of their sessions.
 */
export class SessionIndex {
  private readonly byUser = new Map<string, SessionRecord[]>();

  constructor(sessions: Iterable<SessionRecord>) {
    for (const s of sessions) {
      let list = this.byUser.get(s.userId);
      if (!list) this.byUser.set(s.userId, (list = []));
      list.push(s);
    }
  }

  /** The user's devices with a live session, each once. */
  liveDevices(userId: string): string[] {
    return [...new Set((this.byUser.get(userId) ?? []).map((s) => s.deviceId))];
  }

  /** The users with a session on each gateway, each once; `excludeSessionId` does not count. */
  byGateway(userIds: Iterable<string>, excludeSessionId = ""): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const userId of userIds) {
      for (const s of this.byUser.get(userId) ?? []) {
        if (s.sessionId === excludeSessionId) continue;
        let users = out.get(s.gatewayId);
        if (!users) out.set(s.gatewayId, (users = []));
        if (users.at(-1) !== userId) users.push(userId);
      }
    }
    return out;
  }
}
