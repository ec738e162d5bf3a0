// The push scenario's population: recipients whose only device registered a Web Push
// subscription and never opened a session, and one sender in every group.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { NotificationsService } from "@messenger/proto/accounts/v1/notifications_service";
import { MessengerClient } from "@messenger/sdk";

/** A browser's push subscription as `PushSubscription.toJSON()` flattens it. */
export interface Subscription {
  readonly endpoint: string;
  readonly p256dh: string;
  readonly auth: string;
}

const password = "bench password";

/** Runs `fn` over `items` with at most `limit` calls in flight; results in order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/**
 * Registers one user per subscription through AccountsService (Register, then Login of one
 * device: a push registration needs a logged-in device) and registers the subscription for
 * that device through NotificationsService, as a browser's page does. No session is ever
 * opened for these devices. Returns the user ids, in subscription order.
 *
 * Each device id is unique over all users (`browser-<i>`), not the same name for everyone:
 * the push worker's sent-mark key is device id + message id without the user, so devices of
 * different users sharing an id would all but one be skipped as "already_sent" (found by
 * this scenario; reported for services/push).
 */
export async function createRecipients(url: string, prefix: string, subscriptions: readonly Subscription[]): Promise<string[]> {
  const transport = createGrpcTransport({ baseUrl: url });
  const accounts = createClient(AccountsService, transport);
  const notifications = createClient(NotificationsService, transport);
  return pool(subscriptions, 64, async (s, i) => {
    const username = `${prefix}${i}`;
    const user = (await accounts.register({ username, password })).user!;
    const { tokens } = await accounts.login({ username, password, deviceId: `browser-${i}` });
    await notifications.registerPush(
      { registration: { registration: { case: "webPush", value: { endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth } } } },
      { headers: { authorization: `Bearer ${tokens!.accessToken}` } },
    );
    return user.id;
  });
}

/** The sender, signed in and connected (its own device is live; as the author it is never a push candidate). */
export async function createSender(url: string, username: string): Promise<MessengerClient> {
  const client = new MessengerClient({ url, deviceId: "phone" });
  await client.register(username, password);
  await client.login(username, password);
  await client.connect();
  return client;
}

/** One group per slice of `groupSize` recipients, the sender its owner; their conversation ids in order. */
export async function createGroups(sender: MessengerClient, recipients: readonly string[], groupSize: number): Promise<string[]> {
  const slices = Array.from({ length: Math.ceil(recipients.length / groupSize) }, (_, g) => recipients.slice(g * groupSize, (g + 1) * groupSize));
  return pool(slices, 8, async (members, g) => (await sender.createGroup(`push bench ${g}`, [...members])).id);
}
