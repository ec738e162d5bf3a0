import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { authenticate, type TokenVerifier } from "@messenger/auth";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { TokensSchema, UserSchema, type Tokens, type User } from "@messenger/proto/accounts/v1/types";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { Accounts, DeviceTokens } from "../domain/accounts.js";
import type { AccountRecord } from "../storage/account-repository.js";

const userToProto = (u: AccountRecord): User => create(UserSchema, { id: u.id, username: u.username, displayName: u.displayName });
const tokensToProto = (t: DeviceTokens): Tokens =>
  create(TokensSchema, { accessToken: t.access.token, accessTokenExpiresAt: timestampFromDate(t.access.expiresAt), refreshToken: t.refreshToken });

/** The public accounts API. */
export function accountsRoute(deps: { accounts: Accounts; verifier: TokenVerifier }): ServiceRoute {
  const { accounts, verifier } = deps;
  return route(
    AccountsService,
    {
      async register(req) {
        return { user: userToProto(await accounts.register(req.username, req.password, req.displayName)) };
      },
      async login(req) {
        const r = await accounts.login(req.username, req.password, req.deviceId);
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
    },
    "public",
  );
}

