import { Code, ConnectError } from "@connectrpc/connect";
import { ConversationKind, type Conversation } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "../client.js";
import type { ConversationView } from "./conversation-view.js";
import type { GroupView } from "./group-view.js";
import { printable } from "./printable.js";

/** The other user of a direct conversation, with a printable name. */
export interface Peer {
  readonly id: string;
  readonly name: string;
}

/** A conversation to enter: a direct one with its peer, or a group. */
export type Target = { readonly kind: "direct"; readonly conversation: Conversation; readonly peer: Peer } | { readonly kind: "group"; readonly conversation: Conversation };

/** What every screen keeps. */
interface ScreenState {
  /** The highest seq marked read from this screen. */
  readSent: bigint;
}

/** A direct conversation on screen; `request` while it is one of my message requests (my first reply accepts it). */
export interface DirectScreen extends ScreenState {
  readonly kind: "direct";
  readonly view: ConversationView;
  readonly peer: Peer;
  request: boolean;
  /** The acceptance of the message request, once the first reply asked for it. */
  accepting?: Promise<void> | undefined;
}

/** A group on screen. */
export interface GroupScreen extends ScreenState {
  readonly kind: "group";
  readonly view: GroupView;
  title: string;
}

/** The conversation on screen. */
export type Screen = DirectScreen | GroupScreen;

/** Pages asked of ListConversations. */
const pageSize = 200;

/** Every conversation of the inbox (newest activity first), or of the message requests. */
export async function allConversations(client: MessengerClient, folder: "inbox" | "requests"): Promise<Conversation[]> {
  const all: Conversation[] = [];
  let token = "";
  do {
    const page = await client.listConversations(pageSize, token, folder);
    all.push(...page.conversations);
    token = page.nextPageToken;
  } while (token !== "");
  return all;
}

/** One of my groups by conversation id, or by title when exactly one of them has it (case ignored if none matches exactly). */
export async function findGroup(client: MessengerClient, group: string): Promise<Conversation> {
  const groups = (await allConversations(client, "inbox")).filter((c) => c.kind === ConversationKind.GROUP);
  const byId = groups.find((c) => c.id === group);
  if (byId) return byId;
  let titled = groups.filter((c) => c.title === group);
  if (titled.length === 0) titled = groups.filter((c) => c.title.toLowerCase() === group.toLowerCase());
  if (titled.length === 1) return titled[0]!;
  if (titled.length > 1) {
    throw new ConnectError(`${titled.length} of your groups are titled ${quote(group)}: name one by its id (${titled.map((c) => c.id).join(", ")})`, Code.FailedPrecondition);
  }
  throw new ConnectError(`no group ${quote(group)} among your conversations`, Code.NotFound);
}

/** A title in curly quotes, control characters made visible. */
export function quote(s: string): string {
  return `“${printable(s)}”`;
}

/** "1 member", "3 members". */
export function plural(n: number | bigint, unit: string): string {
  return `${n} ${unit}${n === 1 || n === 1n ? "" : "s"}`;
}
