import type { User } from "@messenger/proto/accounts/v1/types";
import type { Message, Presence } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "../client.js";
import { ConversationView } from "./conversation-view.js";
import { describeError } from "./errors.js";
import { GroupView } from "./group-view.js";
import type { Marks } from "./marks.js";
import { plural, quote, type Screen, type Target } from "./screens.js";
import { userIdsIn } from "./system-event.js";
import type { UserDirectory } from "./user-directory.js";

/** Messages shown when a conversation is entered. */
export const historySize = 20;

/** What entering a conversation needs from the session. */
export interface EntryDeps {
  readonly client: MessengerClient;
  readonly me: User;
  readonly directory: UserDirectory;
  readonly marks: Marks;
  print(line: string): void;
  /** Looks names up; on failure ids are shown instead. */
  resolveNames(userIds: readonly string[]): Promise<void>;
  /** Makes the screen the one on screen (before its history loads, so live messages reach it, held, meanwhile). */
  show(screen: Screen): void;
  /** True while the conversation is the one on screen: lines of another (updates still queued for it) are dropped. */
  onScreen(conversationId: string): boolean;
  /** Resolves once the screen updates queued so far are done. */
  idle(): Promise<void>;
}

/**
 * Puts a conversation on screen: its newest messages, with a marker before those that came
 * since I last read it (unread_count is the newest seq minus my read watermark), then the
 * receipts of my messages. Live messages wait while the history loads.
 */
export async function enterScreen(target: Target, deps: EntryDeps): Promise<Screen> {
  const { client, me } = deps;
  const conv = target.conversation;
  const print = (line: string): void => {
    if (deps.onScreen(conv.id)) deps.print(line);
  };
  const screen: Screen =
    target.kind === "direct"
      ? {
          kind: "direct",
          peer: target.peer,
          request: conv.request,
          readSent: 0n,
          view: new ConversationView(conv.id, { myUserId: me.id, peerUserId: target.peer.id, peerName: target.peer.name }, print, deps.marks),
        }
      : {
          kind: "group",
          title: conv.title,
          readSent: 0n,
          view: new GroupView(conv.id, { myUserId: me.id, nameOf: (id) => deps.directory.nameOf(id) }, conv.memberCount, print, deps.marks),
        };
  const view = screen.view;
  deps.show(screen);
  if (target.kind === "direct" && conv.request) {
    deps.print(`-- a message request from ${target.peer.name}, who is not a contact: replying accepts it; /block ${target.peer.name} stops them`);
  }
  if (target.kind === "group" && !conv.isMember) deps.print(`-- you are no longer a member of ${quote(conv.title)}: history only`);
  view.hold();
  let page: Message[] = [];
  try {
    const history = await client.listMessages(conv.id, { pageSize: historySize });
    page = history.messages;
    const oldest = page[0]?.seq;
    if (history.hasMore && oldest !== undefined) {
      // A group member may not see every seq: only a direct chat's count is exact.
      if (screen.kind === "direct") deps.print(`… ${plural(oldest - 1n, "earlier message")}`);
      else deps.print("… earlier messages not shown");
    }
    await deps.resolveNames(page.flatMap(idsOf));
    const readUpTo = conv.lastSeq - conv.unreadCount;
    if (conv.unreadCount > 0n && readUpTo > 0n) view.markNewAfter(readUpTo, `-- ${conv.unreadCount} new since you were away --`);
  } finally {
    view.release(page);
  }
  if (screen.kind === "direct") {
    const peerReceipt = client.receiptsOf(conv.id).get(screen.peer.id);
    if (peerReceipt) screen.view.onReceipt(peerReceipt);
  } else {
    const summary = client.receiptSummaryOf(conv.id);
    if (summary) screen.view.onSummary(summary);
    screen.view.onMemberRead((seq) => client.readCount(conv.id, seq, me.id));
  }
  return screen;
}

/** What a screen needs the stream for: the peer's presence, or a group's newest messages (a large group's are not pushed). */
export async function followScreen(screen: Screen, deps: EntryDeps): Promise<void> {
  if (screen.kind === "direct") {
    const presence = await deps.client.getPresence([screen.peer.id]).catch((err: unknown): Presence[] => {
      deps.print(`! presence unavailable: ${describeError(err)}`);
      return [];
    });
    for (const p of presence) screen.view.onPresence(p);
    return;
  }
  await deps.client.openConversation(screen.view.conversationId, { after: screen.view.shownUpTo }).catch((err: unknown) => {
    deps.print(`! could not load new messages: ${describeError(err)}`);
  });
  await deps.idle();
}

/** "chatting with bob", "in group “Trip” (3 members)". */
export function whereLine(screen: Screen): string {
  return screen.kind === "direct" ? `chatting with ${screen.peer.name}` : `in group ${quote(screen.title)} (${plural(screen.view.memberCount, "member")})`;
}

/** The user ids a message shows: its sender and, for a system message, everyone it names. */
export function idsOf(m: Message): string[] {
  return m.body.case === "system" ? userIdsIn(m.body.value) : [m.senderUserId];
}
