import type { Session } from "./session.js";

/** The sessions this gateway holds, by id and by user. */
export class SessionTable {
  private readonly byId = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<Session>>();

  get size(): number {
    return this.byId.size;
  }

  add(s: Session): void {
    this.byId.set(s.id, s);
    let set = this.byUser.get(s.userId);
    if (!set) this.byUser.set(s.userId, (set = new Set()));
    set.add(s);
  }

  remove(s: Session): void {
    this.byId.delete(s.id);
    const set = this.byUser.get(s.userId);
    set?.delete(s);
    if (set?.size === 0) this.byUser.delete(s.userId);
  }

  get(sessionId: string): Session | undefined {
    return this.byId.get(sessionId);
  }

  ofUser(userId: string): Iterable<Session> {
    return this.byUser.get(userId) ?? [];
  }

  all(): Session[] {
    return [...this.byId.values()];
  }
}
