import { createHash } from "node:crypto";
import type { AccountRepository, ContactsRepository } from "@messenger/accounts";
import { defaultContactLimits } from "@messenger/accounts";

/**
 * A deterministic contact graph in which every user has exactly `degree` contacts: user i is
 * a contact of i ± k·stride (mod users) for k = 1..degree/2. The stride spreads each user's
 * contacts over the whole id space (and so over every gateway) instead of a tight cluster.
 */
export class ContactGraph {
  /** Account ids, shaped like the ones accounts hands out (`u_` + 32 hex digits). */
  readonly ids: readonly string[];
  private readonly offsets: readonly number[];

  constructor(
    readonly users: number,
    readonly degree: number,
  ) {
    const half = degree / 2;
    // Every offset below users/2, so i + d and i - d' never meet: exactly `degree` distinct peers.
    const stride = Math.floor((users / 2 - 1) / half);
    if (!Number.isInteger(half) || stride < 1) throw new Error(`cannot give ${users} users ${degree} contacts each (degree must be even and below users - 1)`);
    this.offsets = Array.from({ length: half }, (_, k) => (k + 1) * stride);
    this.ids = Array.from({ length: users }, (_, i) => `u_${createHash("md5").update(`bench-presence-${i}`).digest("hex")}`);
  }

  /** The indices of user i's contacts. */
  contactsOf(i: number): number[] {
    const n = this.users;
    return this.offsets.flatMap((d) => [(i + d) % n, (i - d + n) % n]);
  }

  /** Number of contact pairs (each pair is two rows, one per side). */
  get pairs(): number {
    return (this.users * this.degree) / 2;
  }

  /**
   * Writes the accounts and the contacts through the repository port, the way the service
   * writes them: one insertUser per account, one addContact (both rows in one transaction,
   * under the production contact limit) per pair.
   */
  async seed(repo: AccountRepository & ContactsRepository, progress: (done: number) => void = () => undefined): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < this.users; i++) {
      const inserted = await repo.insertUser({ id: this.ids[i]!, username: `bench_presence_${i}`, displayName: `Bench ${i}`, passwordHash: "bench users never log in", createdAt: now });
      if (!inserted) throw new Error(`user ${i} already exists`);
    }
    let done = 0;
    for (let i = 0; i < this.users; i++) {
      for (const d of this.offsets) {
        if (!(await repo.addContact(this.ids[i]!, this.ids[(i + d) % this.users]!, now, defaultContactLimits.maxContacts))) throw new Error(`contact ${i} ↔ ${(i + d) % this.users} refused`);
        if (++done % 100_000 === 0) progress(done);
      }
    }
  }
}
