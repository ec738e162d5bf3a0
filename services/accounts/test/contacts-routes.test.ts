import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { createTokenIssuer, createTokenVerifier, type TokenIssuer } from "@messenger/auth";
import { createLogger } from "@messenger/logging";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { ContactsService, MessageRequestPolicy, PresenceVisibility, RequestDirection } from "@messenger/proto/accounts/v1/contacts_service";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import { StoreService, type SetDirectRelationRequest } from "@messenger/proto/store/v1/store_service";
import { instrumentRoute } from "@messenger/rpc";
import { codeOf } from "@messenger/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualTimer } from "../src/domain/manual-timer.js";
import { createAccountsApp, openSqliteAccountRepository, type AccountsApp } from "../src/index.js";

// The app's routes served as every transport serves them (through instrumentRoute, which maps
// domain errors to statuses), over Connect's in-memory transport, with a real SQLite file and
// a store that records SetDirectRelation or refuses it.

const dir = mkdtempSync(join(tmpdir(), "messenger-accounts-routes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger("accounts-routes-test", "silent");

let issuer: TokenIssuer;
beforeAll(async () => {
  issuer = await createTokenIssuer({ keyPath: join(dir, "key.json"), ttlSeconds: 600 });
});

interface World {
  app: AccountsApp;
  told: SetDirectRelationRequest[];
  storeDown: boolean;
  /** The app's timers: its store retry loop runs only when the test fires them. */
  timer: ManualTimer;
  /** Resolves with the first SetDirectRelation acknowledged from now on. */
  nextTold(): Promise<SetDirectRelationRequest>;
  accounts: Client<typeof AccountsService>;
  contacts: Client<typeof ContactsService>;
  relations: Client<typeof RelationsService>;
}

/** The app over `file` (a new one unless given), as a process started on it would be. */
function openWorld(file: string): World {
  const waiting: ((req: SetDirectRelationRequest) => void)[] = [];
  const state = { told: [] as SetDirectRelationRequest[], storeDown: false };
  const store = createClient(
    StoreService,
    createRouterTransport((r) =>
      r.service(StoreService, {
        setDirectRelation(req) {
          if (state.storeDown) throw new ConnectError("store is down", Code.Unavailable);
          state.told.push(req);
          for (const resolve of waiting.splice(0)) resolve(req);
          return {};
        },
      }),
    ),
  );
  const timer = new ManualTimer();
  const app = createAccountsApp({
    repo: openSqliteAccountRepository(file),
    issuer,
    verifier: createTokenVerifier({ jwks: issuer.jwks() }),
    store,
    presence: createClient(PresenceAudienceService, createRouterTransport((r) => r.service(PresenceAudienceService, { audienceChanged: () => ({}) }))),
    settings: { scryptLogN: 10, refreshTokenTtlSeconds: 3600 },
    storeRetry: { intervalMs: 1_000, maxIntervalMs: 30_000 },
    setTimer: timer.setTimer,
    log,
  });
  const routes = app.routes.map((r) => instrumentRoute(r, log));
  const transport = createRouterTransport((r) => {
    for (const route of routes) r.service(route.service, route.impl);
  });
  return Object.assign(state, {
    app,
    timer,
    nextTold: () => new Promise<SetDirectRelationRequest>((resolve) => waiting.push(resolve)),
    accounts: createClient(AccountsService, transport),
    contacts: createClient(ContactsService, transport),
    relations: createClient(RelationsService, transport),
  });
}

let run = 0;
let file: string;
let w: World;
beforeEach(() => {
  file = join(dir, `accounts-${run++}.db`);
  w = openWorld(file);
});
afterEach(() => w.app.close());

async function signUp(username: string): Promise<{ id: string; as: { headers: { authorization: string } } }> {
  const { user } = await w.accounts.register({ username, password: "correct horse", displayName: username });
  const { tokens } = await w.accounts.login({ username, password: "correct horse", deviceId: "phone" });
  return { id: user!.id, as: { headers: { authorization: `Bearer ${tokens!.accessToken}` } } };
}

/** Resolves once the store has acknowledged n SetDirectRelation calls in all. */
async function toldAtLeast(n: number): Promise<void> {
  while (w.told.length < n) await w.nextTold();
}

describe("ContactsService and RelationsService routes", () => {
  it("serves the contact flow to token holders and answers each refusal with its gRPC status", async () => {
    const ann = await signUp("ann");
    const bob = await signUp("bob");
    expect(await codeOf(w.contacts.sendContactRequest({ userId: bob.id }))).toBe("Unauthenticated");
    expect(await codeOf(w.contacts.sendContactRequest({ userId: ann.id }, ann.as))).toBe("InvalidArgument");
    expect(await codeOf(w.contacts.sendContactRequest({ userId: "u_nobody" }, ann.as))).toBe("NotFound");

    expect(await w.contacts.sendContactRequest({ userId: bob.id }, ann.as)).toMatchObject({ accepted: false });
    expect(await codeOf(w.contacts.sendContactRequest({ userId: bob.id }, ann.as))).toBe("AlreadyExists");
    const incoming = await w.contacts.listContactRequests({ direction: RequestDirection.INCOMING }, bob.as);
    expect(incoming.requests.map((r) => r.user?.username)).toEqual(["ann"]);
    expect(incoming.requests[0]?.sentAt).toBeDefined();
    expect(await codeOf(w.contacts.listContactRequests({ pageToken: "junk" }, bob.as))).toBe("InvalidArgument");

    const { contact } = await w.contacts.acceptContactRequest({ userId: ann.id }, bob.as);
    expect(contact?.user).toMatchObject({ id: ann.id, username: "ann", displayName: "ann" });
    expect((await w.contacts.listContacts({}, ann.as)).contacts.map((c) => c.user?.username)).toEqual(["bob"]);
    expect(w.told.map((t) => [t.userId, t.peerUserId, t.contact, t.blocking])).toEqual([
      [bob.id, ann.id, true, false],
      [ann.id, bob.id, true, false],
    ]);
    expect(await codeOf(w.contacts.declineContactRequest({ userId: ann.id }, bob.as))).toBe("NotFound");

    await w.contacts.block({ userId: ann.id }, bob.as);
    expect(w.told.at(-1)).toMatchObject({ userId: bob.id, peerUserId: ann.id, blocking: true, contact: true });
    expect((await w.contacts.listBlocked({}, bob.as)).users.map((u) => u.username)).toEqual(["ann"]);
    const { relations } = await w.relations.getRelations({ userId: ann.id, peerUserIds: [bob.id, "u_nobody"] });
    expect(relations.map((r) => [r.exists, r.contact, r.blockedBy, r.presenceVisible])).toEqual([
      [true, true, true, false],
      [false, false, false, false],
    ]);
    expect(await codeOf(w.relations.getRelations({ userId: ann.id, peerUserIds: Array.from({ length: 1001 }, (_, i) => `p${i}`) }))).toBe("InvalidArgument");
    expect((await w.relations.listPresenceAudience({ userId: bob.id })).userIds).toEqual([]);
  });

  it("fails Block with the store's own status when the store is down; the block holds here and the retry loop brings the store to it", async () => {
    const ann = await signUp("ann");
    const bob = await signUp("bob");
    w.storeDown = true;
    expect(await codeOf(w.contacts.block({ userId: bob.id }, ann.as))).toBe("Unavailable");
    expect((await w.contacts.listBlocked({}, ann.as)).users.map((u) => u.username)).toEqual(["bob"]);
    expect(await codeOf(w.contacts.sendContactRequest({ userId: ann.id }, bob.as))).toBe("PermissionDenied");
    expect(w.timer.waits()).toEqual([1_000]);
    w.storeDown = false;
    const told = w.nextTold();
    w.timer.fire();
    expect(await told).toMatchObject({ userId: ann.id, peerUserId: bob.id, blocking: true, contact: false });
    expect(w.told).toHaveLength(1);
  });

  it("answers AcceptContactRequest and RemoveContact OK while the store is down; the retry loop brings the store to each", async () => {
    const ann = await signUp("ann");
    const bob = await signUp("bob");
    await w.contacts.sendContactRequest({ userId: bob.id }, ann.as);
    w.storeDown = true;
    const { contact } = await w.contacts.acceptContactRequest({ userId: ann.id }, bob.as);
    expect(contact?.user?.username).toBe("ann");
    w.storeDown = false;
    w.timer.fire();
    await toldAtLeast(2);
    expect(w.told.map((t) => [t.userId, t.peerUserId, t.contact])).toEqual([
      [bob.id, ann.id, true],
      [ann.id, bob.id, true],
    ]);

    w.storeDown = true;
    await w.contacts.removeContact({ userId: bob.id }, ann.as);
    expect((await w.contacts.listContacts({}, bob.as)).contacts).toEqual([]);
    w.storeDown = false;
    w.timer.fire();
    await toldAtLeast(4);
    expect(w.told.slice(2).map((t) => [t.userId, t.peerUserId, t.contact])).toEqual([
      [ann.id, bob.id, false],
      [bob.id, ann.id, false],
    ]);
  });

  it("pushes, when started over the file of a process that stopped before the store had a block, that block", async () => {
    const ann = await signUp("ann");
    const bob = await signUp("bob");
    w.storeDown = true;
    expect(await codeOf(w.contacts.block({ userId: bob.id }, ann.as))).toBe("Unavailable");
    await w.app.close();
    w = openWorld(file);
    const told = w.nextTold();
    expect(w.timer.waits()).toEqual([1_000]);
    w.timer.fire();
    expect(await told).toMatchObject({ userId: ann.id, peerUserId: bob.id, blocking: true, contact: false });
  });

  it("reads and updates privacy settings, UNSPECIFIED meaning the default, and refuses an unknown mask name", async () => {
    const ann = await signUp("ann");
    const defaults = { presenceVisibility: PresenceVisibility.CONTACTS, messageRequests: MessageRequestPolicy.REQUESTS };
    expect((await w.contacts.getPrivacySettings({}, ann.as)).settings).toMatchObject(defaults);
    const changed = await w.contacts.updatePrivacySettings({ settings: { presenceVisibility: PresenceVisibility.NOBODY, messageRequests: MessageRequestPolicy.INBOX } }, ann.as);
    expect(changed.settings).toMatchObject({ presenceVisibility: PresenceVisibility.NOBODY, messageRequests: MessageRequestPolicy.INBOX });
    const reset = await w.contacts.updatePrivacySettings({ settings: {}, updateMask: ["presence_visibility"] }, ann.as);
    expect(reset.settings).toMatchObject({ presenceVisibility: PresenceVisibility.CONTACTS, messageRequests: MessageRequestPolicy.INBOX });
    expect(await codeOf(w.contacts.updatePrivacySettings({ settings: {}, updateMask: ["last_seen"] }, ann.as))).toBe("InvalidArgument");
    expect(await codeOf(w.contacts.updatePrivacySettings({ settings: { presenceVisibility: 42 as PresenceVisibility } }, ann.as))).toBe("InvalidArgument");
    expect((await w.contacts.getPrivacySettings({}, ann.as)).settings).toMatchObject({ presenceVisibility: PresenceVisibility.CONTACTS, messageRequests: MessageRequestPolicy.INBOX });
  });

  it("serves RelationsService, DevicesService and PushTargetsService as internal and the rest as public", () => {
    expect(w.app.routes.map((r) => [r.service.typeName, r.visibility])).toEqual([
      ["messenger.accounts.v1.AccountsService", "public"],
      ["messenger.accounts.v1.ContactsService", "public"],
      ["messenger.accounts.v1.NotificationsService", "public"],
      ["messenger.accounts.v1.RelationsService", "internal"],
      ["messenger.accounts.v1.DevicesService", "internal"],
      ["messenger.accounts.v1.PushTargetsService", "internal"],
    ]);
  });
});
