import { authenticate, type TokenVerifier } from "@messenger/auth";
import { ContactsService } from "@messenger/proto/accounts/v1/contacts_service";
import { enforceRateLimit, route, type RateLimiter, type ServiceRoute } from "@messenger/rpc";
import type { Contacts } from "../domain/contacts.js";
import type { Privacy } from "../domain/privacy.js";
import { contactToProto, directionFromProto, privacyFromProto, privacyToProto, requestToProto, userToProto } from "./contacts-proto.js";

/**
 * The public contacts API: every call acts for the holder of its access token. Contact
 * requests are rate limited per user (`requestLimiter`), refused ones included, so a
 * spammer cannot probe its way through a list of users.
 */
export function contactsRoute(deps: { contacts: Contacts; privacy: Privacy; verifier: TokenVerifier; requestLimiter?: RateLimiter }): ServiceRoute {
  const { contacts, privacy, verifier } = deps;
  const caller = async (headers: Headers): Promise<string> => (await authenticate(verifier, headers)).userId;
  return route(
    ContactsService,
    {
      async sendContactRequest(req, ctx) {
        const me = await caller(ctx.requestHeader);
        enforceRateLimit(deps.requestLimiter, me, "contact requests");
        return contacts.sendRequest(me, req.userId);
      },
      async acceptContactRequest(req, ctx) {
        return { contact: contactToProto(await contacts.accept(await caller(ctx.requestHeader), req.userId)) };
      },
      async declineContactRequest(req, ctx) {
        await contacts.decline(await caller(ctx.requestHeader), req.userId);
        return {};
      },
      async cancelContactRequest(req, ctx) {
        await contacts.cancel(await caller(ctx.requestHeader), req.userId);
        return {};
      },
      async removeContact(req, ctx) {
        await contacts.remove(await caller(ctx.requestHeader), req.userId);
        return {};
      },
      async listContacts(req, ctx) {
        const page = await contacts.listContacts(await caller(ctx.requestHeader), req.pageSize, req.pageToken);
        return { contacts: page.items.map(contactToProto), nextPageToken: page.nextPageToken };
      },
      async listContactRequests(req, ctx) {
        const me = await caller(ctx.requestHeader);
        const page = await contacts.listRequests(me, directionFromProto(req.direction), req.pageSize, req.pageToken);
        return { requests: page.items.map(requestToProto), nextPageToken: page.nextPageToken };
      },
      async block(req, ctx) {
        await contacts.block(await caller(ctx.requestHeader), req.userId);
        return {};
      },
      async unblock(req, ctx) {
        await contacts.unblock(await caller(ctx.requestHeader), req.userId);
        return {};
      },
      async listBlocked(req, ctx) {
        const page = await contacts.listBlocked(await caller(ctx.requestHeader), req.pageSize, req.pageToken);
        return { users: page.items.map((b) => userToProto(b.user)), nextPageToken: page.nextPageToken };
      },
      async getPrivacySettings(_req, ctx) {
        return { settings: privacyToProto(await privacy.get(await caller(ctx.requestHeader))) };
      },
      async updatePrivacySettings(req, ctx) {
        const me = await caller(ctx.requestHeader);
        return { settings: privacyToProto(await privacy.update(me, privacyFromProto(req.settings), req.updateMask)) };
      },
    },
    "public",
  );
}
