import type { User } from "@messenger/proto/accounts/v1/types";
import { printable } from "./printable.js";

/** The most ids asked of the accounts service in one GetUsers call. */
const batchSize = 100;

/**
 * User ids to usernames for display, filled from what the session already knows (the
 * logged-in user, looked-up names) and from the accounts service (GetUsers) for the rest.
 * An id the service does not know is shown as the id and not asked for again.
 */
export class UserDirectory {
  private readonly names = new Map<string, string>();
  private readonly unknown = new Set<string>();

  constructor(private readonly getUsers: (userIds: string[]) => Promise<User[]>) {}

  add(user: Pick<User, "id" | "username">): void {
    this.names.set(user.id, printable(user.username));
    this.unknown.delete(user.id);
  }

  /** The username of an id, or the id itself when it is not known (yet). */
  nameOf(userId: string): string {
    return this.names.get(userId) ?? printable(userId);
  }

  /** True when every id has a name or is known not to have one. */
  knows(userIds: Iterable<string>): boolean {
    for (const id of userIds) if (!this.names.has(id) && !this.unknown.has(id)) return false;
    return true;
  }

  /** Fetches the names of the ids not known yet; a failed call leaves them to be tried again. */
  async resolve(userIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(userIds)].filter((id) => id !== "" && !this.names.has(id) && !this.unknown.has(id));
    for (let i = 0; i < missing.length; i += batchSize) {
      const batch = missing.slice(i, i + batchSize);
      const users = await this.getUsers(batch);
      for (const u of users) this.add(u);
      for (const id of batch) if (!this.names.has(id)) this.unknown.add(id);
    }
  }
}
