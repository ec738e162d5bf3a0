import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DomainError, type DomainErrorKind } from "@messenger/rpc/domain-error";
import Database from "better-sqlite3";
import type { AccountRepository } from "../storage/account-repository.js";
import type { ContactsRepository } from "../storage/contacts-repository.js";
import type { PendingDirectRelation } from "../storage/direct-relation-outbox.js";
import { sqliteAccountRepository } from "../storage/sqlite-account-repository.js";
import { Contacts, defaultContactLimits, type ContactLimits } from "./contacts.js";
import type { DirectRelations, DirectRelationState } from "./direct-relations.js";
import type { PresenceAudience } from "./presence-audience.js";
import { Privacy } from "./privacy.js";
import { Relations } from "./relations.js";

/** One SetDirectRelation the store received, with whether accounts already stored a block then. */
export interface StoreCall extends DirectRelationState {
  readonly userId: string;
  readonly peerUserId: string;
  /** Whether accounts' own file held userId's block of peerUserId when the store was told. */
  readonly blockedLocally: boolean;
}

/**
 * A DirectRelations that records each call it acknowledges, or fails it with `failure` while
 * that is set and for the next `refusals` calls.
 */
export class RecordingDirectRelations implements DirectRelations {
  readonly calls: StoreCall[] = [];
  failure: Error | undefined;
  /** How many of the next calls fail (with "store unreachable"). */
  refusals = 0;
  /**
   * Runs before each call is answered; a test can hold a call here to interleave another,
   * or throw to refuse that call.
   */
  beforeAnswer: (userId: string, peerUserId: string) => Promise<void> = async () => {};

  constructor(private readonly repo: ContactsRepository) {}

  async set(userId: string, peerUserId: string, state: DirectRelationState): Promise<void> {
    const blockedLocally = (await this.repo.pairState(userId, peerUserId))?.blocking ?? false;
    await this.beforeAnswer(userId, peerUserId);
    if (this.failure) throw this.failure;
    if (this.refusals > 0) {
      this.refusals--;
      throw new Error("store unreachable");
    }
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
  /** The SQLite file. */
  readonly file: string;
  /** The connection the repository uses. */
  readonly db: Database.Database;
  /** Every statement the connection ran, parameters filled in; tests empty it before the call they watch. */
  readonly statements: string[];
  readonly repo: AccountRepository & ContactsRepository;
  readonly store: RecordingDirectRelations;
  /** What presence was told, in order. */
  readonly presence: RecordingPresenceAudience;
  readonly contacts: Contacts;
  readonly privacy: Privacy;
  readonly relations: Relations;
  /** The time the use cases see; tests move it. */
  readonly clock: { now: number };
  /** Adds accounts named so, with ids from idOf. */
  addUsers(...names: string[]): Promise<void>;
  /** The outbox entries the store has not acknowledged, oldest first. */
  pending(): Promise<PendingDirectRelation[]>;
  close(): Promise<void>;
}

/** A PresenceAudience that records each change as "user: +viewer -viewer". */
export class RecordingPresenceAudience implements PresenceAudience {
  readonly told: string[] = [];

  async changed(userId: string, gained: readonly string[], lost: readonly string[]): Promise<void> {
    this.told.push([userId + ":", ...gained.map((v) => `+${v}`), ...lost.map((v) => `-${v}`)].join(" "));
  }
}

/** A user's id: its name backwards, so ids sort unlike usernames and a list by the wrong key shows. */
export const idOf = (name: string): string => `id_${[...name].reverse().join("")}`;

/**
 * Opens the fixture on a new file, or on `file` as a second process would (a new connection,
 * new use cases and a new store; the file is left for its owner to remove).
 */
export async function openContactsFixture(opts: { limits?: ContactLimits; file?: string } = {}): Promise<ContactsFixture> {
  const dir = opts.file ? undefined : mkdtempSync(join(tmpdir(), "messenger-accounts-contacts-"));
  const file = opts.file ?? join(dir!, "accounts.db");
  const statements: string[] = [];
  const db = new Database(file, { verbose: (sql) => statements.push(String(sql)) });
  const repo = sqliteAccountRepository(db);
  const store = new RecordingDirectRelations(repo);
  const clock = { now: 1_000 };
  const presence = new RecordingPresenceAudience();
  const contacts = new Contacts(repo, store, presence, opts.limits ?? defaultContactLimits, () => clock.now);
  return {
    file,
    db,
    statements,
    repo,
    store,
    contacts,
    privacy: new Privacy(repo, presence),
    presence,
    relations: new Relations(repo),
    clock,
    async addUsers(...names) {
      for (const name of names) {
        await repo.insertUser({ id: idOf(name), username: name, displayName: name.toUpperCase(), passwordHash: "unused", createdAt: 0 });
      }
    },
    pending: () => repo.pendingDirectRelations(0, 1000),
    async close() {
      await repo.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
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
