import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DomainError, type DomainErrorKind } from "@messenger/rpc/domain-error";
import type { AccountRepository } from "../storage/account-repository.js";
import type { ContactsRepository } from "../storage/contacts-repository.js";
import { openSqliteAccountRepository } from "../storage/sqlite-account-repository.js";
import { Contacts, defaultContactLimits, type ContactLimits } from "./contacts.js";
import type { DirectRelations, DirectRelationState } from "./direct-relations.js";
import { Privacy } from "./privacy.js";
import { Relations } from "./relations.js";

/** One SetDirectRelation the store received, with whether accounts already stored a block then. */
export interface StoreCall extends DirectRelationState {
  readonly userId: string;
  readonly peerUserId: string;
  /** Whether accounts' own file held userId's block of peerUserId when the store was told. */
  readonly blockedLocally: boolean;
}

/** A DirectRelations that records each call, or fails it with `failure` while that is set. */
export class RecordingDirectRelations implements DirectRelations {
  readonly calls: StoreCall[] = [];
  failure: Error | undefined;
  /** Runs before each call is answered; a test can hold a call here to interleave another. */
  beforeAnswer: () => Promise<void> = async () => {};

  constructor(private readonly repo: ContactsRepository) {}

  async set(userId: string, peerUserId: string, state: DirectRelationState): Promise<void> {
    const blockedLocally = (await this.repo.pairState(userId, peerUserId))?.blocking ?? false;
    await this.beforeAnswer();
    if (this.failure) throw this.failure;
    this.calls.push({ userId, peerUserId, ...state, blockedLocally });
  }

  /** The last state the store was told for userId toward peerUserId. */
  lastWord(userId: string, peerUserId: string): DirectRelationState | undefined {
    const last = this.calls.filter((c) => c.userId === userId && c.peerUserId === peerUserId).at(-1);
    return last && { blocking: last.blocking, contact: last.contact };
  }
}

/** The use cases over a real SQLite file in a temp dir, with users whose ids sort unlike their names. */
export interface ContactsFixture {
  readonly repo: AccountRepository & ContactsRepository;
  readonly store: RecordingDirectRelations;
  readonly contacts: Contacts;
  readonly privacy: Privacy;
  readonly relations: Relations;
  /** The time the use cases see; tests move it. */
  readonly clock: { now: number };
  /** Adds accounts named so, with ids from idOf. */
  addUsers(...names: string[]): Promise<void>;
  close(): Promise<void>;
}

/** A user's id: its name backwards, so ids sort unlike usernames and a list by the wrong key shows. */
export const idOf = (name: string): string => `id_${[...name].reverse().join("")}`;

export async function openContactsFixture(opts: { limits?: ContactLimits } = {}): Promise<ContactsFixture> {
  const dir = mkdtempSync(join(tmpdir(), "messenger-accounts-contacts-"));
  const repo = openSqliteAccountRepository(join(dir, "accounts.db"));
  const store = new RecordingDirectRelations(repo);
  const clock = { now: 1_000 };
  const contacts = new Contacts(repo, store, opts.limits ?? defaultContactLimits, () => clock.now);
  return {
    repo,
    store,
    contacts,
    privacy: new Privacy(repo),
    relations: new Relations(repo),
    clock,
    async addUsers(...names) {
      for (const name of names) {
        await repo.insertUser({ id: idOf(name), username: name, displayName: name.toUpperCase(), passwordHash: "unused", createdAt: 0 });
      }
    },
    async close() {
      await repo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The kind of DomainError a call was refused with; fails the test when it was not refused. */
export async function refusal(p: Promise<unknown>): Promise<DomainErrorKind> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(err)}`);
  return err.kind;
}
