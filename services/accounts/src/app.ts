import type { Client } from "@connectrpc/connect";
import { PasswordHasher, type TokenIssuer, type TokenVerifier } from "@messenger/auth";
import { createLogger, type Logger } from "@messenger/logging";
import type { PresenceAudienceService } from "@messenger/proto/presence/v1/presence_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { createRateLimiter, type RateLimit, type ServiceMetrics, type ServiceRoute } from "@messenger/rpc";
import { presenceAudienceClient } from "./adapters/presence-audience-client.js";
import { storeDirectRelations } from "./adapters/store-direct-relations.js";
import { Accounts, type AccountsSettings } from "./domain/accounts.js";
import { Contacts, defaultContactLimits, type ContactLimits } from "./domain/contacts.js";
import { Notifications } from "./domain/notifications.js";
import { Privacy } from "./domain/privacy.js";
import { Relations } from "./domain/relations.js";
import { defaultRetryTiming, RetryLoop, systemTimer, type RetryTiming, type SetTimer } from "./domain/retry-loop.js";
import { accountsRoute } from "./rpc/accounts-service.js";
import { contactsRoute } from "./rpc/contacts-service.js";
import { devicesRoute } from "./rpc/devices-service.js";
import { notificationsRoute } from "./rpc/notifications-service.js";
import { pushTargetsRoute } from "./rpc/push-targets-service.js";
import { relationsRoute } from "./rpc/relations-service.js";
import { passwordHashMetrics } from "./password-metrics.js";
import type { AccountsRepositories } from "./storage/accounts-repositories.js";

/** The accounts service, ready to mount on any transport. */
export interface AccountsApp {
  /**
   * AccountsService, ContactsService and NotificationsService (public); RelationsService,
   * DevicesService and PushTargetsService (internal).
   */
  readonly routes: ServiceRoute[];
  /** Stops the store retry loop (waiting for a pass under way), the hashing threads, and closes the repository. */
  close(): Promise<void>;
}

/** The abuse limits of the accounts service; an absent limit is off. */
export interface AccountsLimits {
  /** Password hashes computed at once. @default every core but one */
  readonly hashThreads?: number;
  /** Password hashes that may wait for a thread; more are refused. @default 16 */
  readonly hashQueueLimit?: number;
  readonly loginPerUsername?: RateLimit;
  readonly loginPerAddress?: RateLimit;
  readonly registerPerAddress?: RateLimit;
  /** Contact requests a user may send. */
  readonly contactRequests?: RateLimit;
  /** Conversations one user may hold muted. @default 10,000 */
  readonly maxMutedConversations?: number;
  /**
   * Accept http:// Web Push endpoints (tests that play the browser's push service locally);
   * real push services are https only. @default false
   */
  readonly allowInsecurePushEndpoints?: boolean;
}

/** What the accounts service is built from. */
export interface AccountsAppDeps {
  readonly repo: AccountsRepositories;
  readonly issuer: TokenIssuer;
  readonly verifier: TokenVerifier;
  /** The message store, told of blocks and new contacts (SetDirectRelation). */
  readonly store: Client<typeof StoreService>;
  /** Presence, told when who may see a user's presence changed (AudienceChanged). */
  readonly presence: Client<typeof PresenceAudienceService>;
  readonly settings: AccountsSettings;
  /** @default defaultContactLimits (5000 contacts, 1000 pending requests per user) */
  readonly contactLimits?: ContactLimits;
  /**
   * How often store notifications the store has not acknowledged are pushed again.
   * @default every 1 s, doubling after each failure up to 30 s
   */
  readonly storeRetry?: RetryTiming;
  /** @default Node's timers; tests pass a timer they fire by hand */
  readonly setTimer?: SetTimer;
  /** @default a logger named "accounts" */
  readonly log?: Logger;
  /** @default no rate limits; the default hashing pool */
  readonly limits?: AccountsLimits;
  /** Where the hashing pool's gauges and the rate limits' refusals are counted. */
  readonly metrics?: ServiceMetrics;
}

/**
 * Composes the accounts service from its store, token issuer and the message store client,
 * and starts the loop that pushes the outbox of store notifications until the store has
 * them all (also those a previous process committed and never pushed).
 */
export function createAccountsApp(deps: AccountsAppDeps): AccountsApp {
  const log = deps.log ?? createLogger("accounts");
  const limits = deps.limits ?? {};
  const registry = deps.metrics?.registry;
  const passwords = new PasswordHasher({
    ...(limits.hashThreads !== undefined ? { threads: limits.hashThreads } : {}),
    ...(limits.hashQueueLimit !== undefined ? { queueLimit: limits.hashQueueLimit } : {}),
    ...(registry ? { observer: passwordHashMetrics(registry) } : {}),
  });
  const accounts = new Accounts(deps.repo, deps.issuer, passwords, deps.settings, (event) =>
    log.warn({ securityEvent: event }, "security event: refresh token reuse; the device's tokens are revoked"),
  );
  const presence = presenceAudienceClient(deps.presence, log);
  const contacts = new Contacts(deps.repo, storeDirectRelations(deps.store), presence, deps.contactLimits ?? defaultContactLimits);
  const storeRetry = new RetryLoop(
    () => contacts.flushOutbox(),
    deps.storeRetry ?? defaultRetryTiming,
    (err, retryInMs) => log.warn({ err, retryInMs }, "the message store has not acknowledged every block and contact yet; retrying"),
    deps.setTimer ?? systemTimer,
  );
  storeRetry.start();
  const notifications = new Notifications(deps.repo, {
    allowInsecureEndpoints: limits.allowInsecurePushEndpoints ?? false,
    ...(limits.maxMutedConversations !== undefined ? { maxMutedConversations: limits.maxMutedConversations } : {}),
  });
  return {
    routes: [
      accountsRoute({
        accounts,
        verifier: deps.verifier,
        limits: {
          loginPerUsername: createRateLimiter("login_per_username", limits.loginPerUsername, registry),
          loginPerAddress: createRateLimiter("login_per_address", limits.loginPerAddress, registry),
          registerPerAddress: createRateLimiter("register_per_address", limits.registerPerAddress, registry),
        },
      }),
      contactsRoute({
        contacts,
        privacy: new Privacy(deps.repo, presence),
        verifier: deps.verifier,
        requestLimiter: createRateLimiter("contact_request", limits.contactRequests, registry),
      }),
      notificationsRoute({ notifications, verifier: deps.verifier }),
      relationsRoute({ relations: new Relations(deps.repo) }),
      devicesRoute({ accounts }),
      pushTargetsRoute({ notifications, accounts }),
    ],
    async close() {
      await storeRetry.stop();
      await passwords.close();
      await deps.repo.close();
    },
  };
}
