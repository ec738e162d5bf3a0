import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { ContactsService } from "@messenger/proto/accounts/v1/contacts_service";
import { GroupService } from "@messenger/proto/groups/v1/group_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { MediaService } from "@messenger/proto/media/v1/media_service";
import { PresenceService } from "@messenger/proto/presence/v1/presence_service";

const password = "correct horse battery";
let counter = 0;

/** The public APIs of one gateway address, as a test calls them (plain Connect clients). */
export interface Api {
  readonly accounts: Client<typeof AccountsService>;
  readonly contacts: Client<typeof ContactsService>;
  readonly groups: Client<typeof GroupService>;
  readonly history: Client<typeof HistoryService>;
  readonly media: Client<typeof MediaService>;
  readonly presence: Client<typeof PresenceService>;
  close(): void;
}

export function api(url: string): Api {
  const sessionManager = new Http2SessionManager(url);
  const transport = createGrpcTransport({ baseUrl: url, sessionManager });
  return {
    accounts: createClient(AccountsService, transport),
    contacts: createClient(ContactsService, transport),
    groups: createClient(GroupService, transport),
    history: createClient(HistoryService, transport),
    media: createClient(MediaService, transport),
    presence: createClient(PresenceService, transport),
    close: () => sessionManager.abort(),
  };
}

/** A registered user with a logged-in device, for calls with its token. */
export interface ApiUser {
  readonly id: string;
  readonly username: string;
  /** Call options carrying the device's access token. */
  readonly auth: { headers: { authorization: string } };
  readonly token: string;
  /** Logs another device in and returns its access token. */
  tokenFor(deviceId: string): Promise<string>;
}

/** Registers a fresh user (or several at once) and logs a device in. */
export async function registerUser(a: Api, name?: string): Promise<ApiUser> {
  const username = name ?? `u${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const reg = await a.accounts.register({ username, password, displayName: username });
  const tokenFor = async (deviceId: string): Promise<string> => (await a.accounts.login({ username, password, deviceId })).tokens!.accessToken;
  const token = await tokenFor("raw");
  return { id: reg.user!.id, username, token, auth: { headers: { authorization: `Bearer ${token}` } }, tokenFor };
}

/** The text of a message body, or "" for another kind. */
export function textOf(m: { body: { case: string | undefined; value?: unknown } }): string {
  return m.body.case === "text" ? (m.body.value as string) : "";
}

type Tuple<T, N extends number, Acc extends T[] = []> = Acc["length"] extends N ? Acc : Tuple<T, N, [...Acc, T]>;

/** Registers `n` fresh users at once. */
export async function registerUsers<N extends number>(a: Api, n: N): Promise<Tuple<ApiUser, N>> {
  return (await Promise.all(Array.from({ length: n }, () => registerUser(a)))) as Tuple<ApiUser, N>;
}
