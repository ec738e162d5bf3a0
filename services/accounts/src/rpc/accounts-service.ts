import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { authenticate, HashQueueFullError, type TokenVerifier } from "@messenger/auth";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { TokensSchema, UserSchema, type Tokens, type User } from "@messenger/proto/accounts/v1/types";
import { addressLimitKey, clientAddress, enforceRateLimit, rateLimited, route, type RateLimiter, type ServiceRoute } from "@messenger/rpc";
import type { Accounts, DeviceTokens } from "../domain/accounts.js";
import type { AccountRecord } from "../storage/account-repository.js";

const userToProto = (u: AccountRecord): User => create(UserSchema, { id: u.id, username: u.username, displayName: u.displayName });
const tokensToProto = (t: DeviceTokens): Tokens =>
  create(TokensSchema, { accessToken: t.access.token, accessTokenExpiresAt: timestampFromDate(t.access.expiresAt), refreshToken: t.refreshToken });

/** The limits of the calls that hash a password; absent = off. */
export interface CredentialLimiters {
  readonly loginPerUsername?: RateLimiter;
  readonly loginPerAddress?: RateLimiter;
  readonly registerPerAddress?: RateLimiter;
}

/** Limits `limiter` by the caller's address; a call with no known address (in-process) is not limited by it. */
function limitAddress(limiter: RateLimiter | undefined, ctx: HandlerContext, what: string): void {
  const address = clientAddress(ctx);
  if (address) enforceRateLimit(limiter, addressLimitKey(address), what);
}

/** Password hashing refused for a full queue: the same RESOURCE_EXHAUSTED + RetryInfo as a rate limit. */
async function hashing<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof HashQueueFullError) throw rateLimited("logins and registrations at once", err.retryAfterMs);
    throw err;
  }
}

/**
 * The public accounts API. Register and Login are limited before any work (per client
 * address, and Login per username, whether or not it exists, so a refusal tells nothing
 * about it), then wait for a password-hashing thread or are refused when too many wait.
 */
export function accountsRoute(deps: { accounts: Accounts; verifier: TokenVerifier; limits?: CredentialLimiters }): ServiceRoute {
  const { accounts, verifier } = deps;
  const limits = deps.limits ?? {};
  return route(
    AccountsService,
    {
      async register(req, ctx) {
        limitAddress(limits.registerPerAddress, ctx, "registrations from this address");
        return { user: userToProto(await hashing(accounts.register(req.username, req.password, req.displayName, ctx.signal))) };
      },
      async login(req, ctx) {
        limitAddress(limits.loginPerAddress, ctx, "login attempts from this address");
        enforceRateLimit(limits.loginPerUsername, req.username.toLowerCase(), "login attempts for this username");
        const r = await hashing(accounts.login(req.username, req.password, req.deviceId, ctx.signal));
        return { user: userToProto(r.user), tokens: tokensToProto(r.tokens) };
      },
      async refresh(req) {
        return { tokens: tokensToProto(await accounts.refresh(req.refreshToken)) };
      },
      async lookupUser(req, ctx) {
        await authenticate(verifier, ctx.requestHeader);
        return { user: userToProto(await accounts.lookup(req.username)) };
      },
      async getUsers(req, ctx) {
        await authenticate(verifier, ctx.requestHeader);
        return { users: (await accounts.getUsers(req.userIds)).map(userToProto) };
      },
      async logout(_req, ctx) {
        const caller = await authenticate(verifier, ctx.requestHeader);
        await accounts.logout(caller.userId, caller.deviceId);
        return {};
      },
    },
    "public",
  );
}
