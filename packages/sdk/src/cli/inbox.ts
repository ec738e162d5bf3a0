import { Code, ConnectError } from "@connectrpc/connect";
import { ConversationKind, type Conversation, type Message } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "../client.js";
import { formatMessage, type Names } from "./format.js";
import { printable } from "./printable.js";
import { allConversations, plural, quote, type Target } from "./screens.js";
import { userIdsIn } from "./system-event.js";
import type { UserDirectory } from "./user-directory.js";

/** How long the last message's line may be in the list. */
const previewChars = 60;

/** What /inbox and /open need from the session. */
export interface InboxDeps {
  readonly client: MessengerClient;
  readonly directory: UserDirectory;
  readonly myUserId: string;
  /** Looks names up; on failure ids are shown instead. */
  resolveNames(userIds: readonly string[]): Promise<void>;
}

/**
 * My conversations as /inbox lists them: the inbox (direct chats and groups, newest activity
 * first, groups I left included), then my message requests; each as a target /open enters.
 */
export async function loadInbox(deps: InboxDeps): Promise<Target[]> {
  const [inbox, requests] = await Promise.all([allConversations(deps.client, "inbox"), allConversations(deps.client, "requests")]);
  const conversations = [...inbox, ...requests];
  await deps.resolveNames(conversations.flatMap((c) => [...c.memberUserIds, ...(c.lastMessage ? usersOf(c.lastMessage) : [])]));
  return conversations.map((c) => targetOf(c, deps));
}

/** The lines of /inbox: one per conversation, numbered for /open, `*` marking the one on screen. */
export function inboxLines(targets: readonly Target[], currentId: string | undefined, deps: InboxDeps): string[] {
  if (targets.length === 0) return ["-- no conversations yet; /open NAME starts one"];
  const names: Names = { myUserId: deps.myUserId, nameOf: (id) => deps.directory.nameOf(id) };
  const width = String(targets.length).length;
  const lines = [`-- ${plural(targets.length, "conversation")}; /open N switches to one:`];
  targets.forEach((t, i) => {
    const c = t.conversation;
    const parts = [describeTarget(t)];
    if (c.unreadCount > 0n) parts.push(`${c.unreadCount} unread`);
    if (c.lastMessage) parts.push(preview(formatMessage(c.lastMessage, names)));
    lines.push(`${c.id === currentId ? "*" : " "} ${String(i + 1).padStart(width)}. ${parts.join(" · ")}`);
  });
  return lines;
}

/** "bob", "bob (message request)", "“Trip” (group, 4 members)", "“Trip” (group, you left)". */
export function describeTarget(t: Target): string {
  if (t.kind === "direct") return t.conversation.request ? `${t.peer.name} (message request)` : t.peer.name;
  const c = t.conversation;
  return `${quote(c.title)} (group, ${c.isMember ? plural(c.memberCount, "member") : "you left"})`;
}

/**
 * What `/open ARG` enters: entry N of `listing` (the inbox as last listed); else the one
 * conversation of my inbox whose peer's username, group title (case ignored if none matches
 * exactly) or id is ARG; else a direct chat with the user named ARG, opened if new.
 */
export async function resolveTarget(arg: string, listing: readonly Target[] | undefined, deps: InboxDeps): Promise<Target> {
  if (/^[0-9]+$/.test(arg)) {
    const targets = listing ?? (await loadInbox(deps));
    const t = targets[Number(arg) - 1];
    if (!t) throw new ConnectError(`no conversation ${arg}: /inbox lists ${plural(targets.length, "conversation")}`, Code.NotFound);
    return t;
  }
  const targets = await loadInbox(deps);
  const named = (exact: boolean): Target[] => {
    const same = (s: string): boolean => (exact ? s === arg : s.toLowerCase() === arg.toLowerCase());
    return targets.filter((t) => t.conversation.id === arg || same(t.kind === "direct" ? t.peer.name : t.conversation.title));
  };
  let found = named(true);
  if (found.length === 0) found = named(false);
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    const numbers = found.map((t) => targets.indexOf(t) + 1).join(", ");
    throw new ConnectError(`${quote(arg)} names ${found.length} conversations (${numbers} in /inbox): /open one by its number`, Code.FailedPrecondition);
  }
  let user;
  try {
    user = await deps.client.lookupUser(arg);
  } catch (err) {
    const code = ConnectError.from(err).code;
    if (code === Code.NotFound || code === Code.InvalidArgument) throw new ConnectError(`no conversation or user ${quote(arg)}`, Code.NotFound);
    throw err;
  }
  if (user.id === deps.myUserId) throw new ConnectError("you cannot chat with yourself", Code.InvalidArgument);
  deps.directory.add(user);
  const conversation = await deps.client.openDirect(user.id);
  return { kind: "direct", conversation, peer: { id: user.id, name: printable(user.username) } };
}

function targetOf(c: Conversation, deps: InboxDeps): Target {
  if (c.kind !== ConversationKind.DIRECT) return { kind: "group", conversation: c };
  const peerId = c.memberUserIds.find((id) => id !== deps.myUserId) ?? deps.myUserId;
  return { kind: "direct", conversation: c, peer: { id: peerId, name: deps.directory.nameOf(peerId) } };
}

function usersOf(m: Message): string[] {
  return m.body.case === "system" ? userIdsIn(m.body.value) : [m.senderUserId];
}

/** One line of at most previewChars characters. */
function preview(line: string): string {
  const chars = [...line.replace(/\s*\n\s*/g, " ")];
  return chars.length > previewChars ? `${chars.slice(0, previewChars - 1).join("")}…` : chars.join("");
}
