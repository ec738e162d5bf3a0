import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createAccountsApp, openSqliteAccountRepository, type AccountRepository, type AccountsApp, type ContactsRepository } from "@messenger/accounts";
import { createTokenIssuer, createTokenVerifier } from "@messenger/auth";
import { createMemoryBus, createMemorySessionRegistry, type Bus, type SessionRecord, type SessionRegistry } from "@messenger/bus";
import { createLogger, type Logger } from "@messenger/logging";
import { openSqliteLastSeenStore, PresenceTracker, type LastSeenStore, type RelationsClient } from "@messenger/presence";
import { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import { StoreService } from "@messenger/proto/store/v1/store_service";
import { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import { createDirectTransport, createServiceMetrics, instrumentRoute } from "@messenger/rpc";
import { ContactGraph } from "./contact-graph.js";
import { CountingClock } from "./counting-clock.js";
import { GatewayRecorder } from "./gateway-recorder.js";

/** One measured run of the tracker: a fresh tracker over a registry where every user is online. */
export interface PresenceRound {
  readonly tracker: PresenceTracker;
  readonly clock: CountingClock;
  readonly registry: SessionRegistry;
}

/** Sizes of the rig. */
export interface PresenceRigOptions {
  readonly users: number;
  readonly contactsPerUser: number;
  readonly gateways: number;
  readonly log: (line: string) => void;
}

/**
 * Accounts and presence in this process, wired the way the one-process system wires them
 * (services/standalone/src/system.ts): accounts' routes, instrumented, behind the direct
 * transport, and presence's tracker calling RelationsService through it, so every
 * announcement pays the real ListPresenceAudience (privacy row + contacts minus blocks in
 * SQLite). Sessions live in the in-process registry, frames go out on the in-process bus
 * to fake gateways (GatewayRecorder), last seen is written to a SQLite file.
 */
export class PresenceRig {
  /** Called after every ListPresenceAudience with the user and the call's duration (ms). */
  onLookup: ((userId: string, ms: number) => void) | undefined;
  readonly relations: RelationsClient;
  readonly gatewayIds: readonly string[];

  private constructor(
    readonly graph: ContactGraph,
    readonly repo: AccountRepository & ContactsRepository,
    private readonly accounts: AccountsApp,
    readonly bus: Bus,
    readonly recorder: GatewayRecorder,
    readonly lastSeen: LastSeenStore,
    private readonly log: Logger,
    private readonly dir: string,
    gatewayIds: readonly string[],
    /** How the contact graph was written, for the figures' notes. */
    readonly seeding: string,
  ) {
    this.gatewayIds = gatewayIds;
    const client = createClient(RelationsService, createDirectTransport(accounts.routes.map((r) => instrumentRoute(r, log, createServiceMetrics("accounts")))));
    this.relations = {
      getRelations: (req, options) => client.getRelations(req, options),
      listPresenceAudience: async (req, options) => {
        const t0 = performance.now();
        const res = await client.listPresenceAudience(req, options);
        this.onLookup?.(req.userId ?? "", performance.now() - t0);
        return res;
      },
    };
  }

  /**
   * Seeds the contact graph through the repository port into a SQLite file on tmpfs (each
   * addContact is its own synchronous=FULL transaction: on this disk that is ~0.5 ms of fsync
   * per pair, 5 minutes for 500k pairs; on tmpfs ~50 µs), then copies the finished file to a
   * temp dir on disk and opens the accounts service on that copy.
   */
  static async open(opts: PresenceRigOptions): Promise<PresenceRig> {
    const graph = new ContactGraph(opts.users, opts.contactsPerUser);
    const dir = mkdtempSync(join(tmpdir(), "bench-presence-"));
    const seedDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "bench-presence-seed-"));
    const t0 = performance.now();
    try {
      const seedRepo = openSqliteAccountRepository(join(seedDir, "accounts.db"));
      try {
        await graph.seed(seedRepo, (done) => opts.log(`presence: seeded ${done.toLocaleString("en-US")} of ${graph.pairs.toLocaleString("en-US")} contact pairs`));
      } finally {
        // Closing the last connection checkpoints the WAL into the main file.
        await seedRepo.close();
      }
      copyFileSync(join(seedDir, "accounts.db"), join(dir, "accounts.db"));
    } finally {
      rmSync(seedDir, { recursive: true, force: true });
    }
    const seconds = (performance.now() - t0) / 1000;
    const seeding = `graph seeded through ContactsRepository (${graph.users.toLocaleString("en-US")} insertUser + ${graph.pairs.toLocaleString("en-US")} addContact, one transaction each, on tmpfs) in ${seconds.toFixed(0)} s`;
    opts.log(`presence: ${seeding}`);
    const log = createLogger("bench-presence", "warn");
    const issuer = await createTokenIssuer({ keyPath: join(dir, "keys", "token-signing.jwk.json"), ttlSeconds: 900 });
    const repo = openSqliteAccountRepository(join(dir, "accounts.db"));
    const accounts = createAccountsApp({
      repo,
      issuer,
      verifier: createTokenVerifier({ jwks: issuer.jwks() }),
      // Only ContactsService writes call the store and presence (blocks, contacts); the bench
      // makes none. The seeding queued an outbox entry per contact for the store: the retry
      // loop that would push them never runs here (its timer never fires).
      store: createClient(StoreService, createDirectTransport([])),
      presence: createClient(PresenceAudienceService, createDirectTransport([])),
      settings: { scryptLogN: 10, refreshTokenTtlSeconds: 3600 },
      setTimer: () => () => undefined,
    });
    const bus = createMemoryBus();
    const gatewayIds = Array.from({ length: opts.gateways }, (_, g) => `bench-gw-${g}`);
    return new PresenceRig(graph, repo, accounts, bus, new GatewayRecorder(bus, gatewayIds), openSqliteLastSeenStore(join(dir, "presence.db")), log, dir, gatewayIds, seeding);
  }

  /** User i's session; `generation` > 0 for the sessions of later reconnects. */
  session(i: number, generation = 0): SessionRecord {
    return { sessionId: `s-${i}-${generation}`, userId: this.graph.ids[i]!, deviceId: "bench-device", gatewayId: this.gatewayIds[i % this.gatewayIds.length]! };
  }

  /** A fresh tracker with the given announcement window over a registry where every user is online. */
  async round(announceWindowMs: number): Promise<PresenceRound> {
    // A long TTL and no sweep: sessions end only when the bench ends them.
    const registry = createMemorySessionRegistry(3_600_000);
    for (let i = 0; i < this.graph.users; i++) await registry.put(this.session(i));
    const clock = new CountingClock();
    const tracker = new PresenceTracker({ registry, bus: this.bus, relations: this.relations, lastSeen: this.lastSeen, log: this.log, announceWindowMs, clock });
    this.recorder.reset();
    this.onLookup = undefined;
    return { tracker, clock, registry };
  }

  async close(): Promise<void> {
    this.recorder.close();
    await this.accounts.close();
    await this.lastSeen.close();
    await this.bus.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
