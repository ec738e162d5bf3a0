import { MemberRole } from "@messenger/proto/chat/v1/types";
import type { MessengerClient } from "../client.js";
import { plural, type GroupScreen } from "./screens.js";
import { roleName } from "./system-event.js";
import type { UserDirectory } from "./user-directory.js";

export const groupHelp = `  /invite NAME…   add people to the group
  /kick NAME      remove someone from the group
  /leave          leave the group (and the chat)
  /members        list the members and their roles
  /admin NAME     make a member an admin
  /owner NAME     hand the group over to a member
  /title TEXT     rename the group
  /readby SEQ     who read message SEQ`;

/** Commands about the group on screen. */
export const groupCommands = new Set(["/invite", "/kick", "/leave", "/members", "/admin", "/owner", "/title", "/readby"]);

/** Pages asked of ListMembers and ListReadBy. */
const pageSize = 200;

/** What a group command needs from the session. */
export interface GroupCommandDeps {
  readonly client: MessengerClient;
  readonly directory: UserDirectory;
  readonly myUserId: string;
  print(line: string): void;
  /** Looks names up; on failure ids are shown instead. */
  resolveNames(userIds: readonly string[]): Promise<void>;
}

/**
 * Runs one group command; its system message shows up as the client emits it. Resolves with
 * "left" after /leave (the chat ends), rejects with what failed.
 */
export async function runGroupCommand(command: string, rest: string, screen: GroupScreen, deps: GroupCommandDeps): Promise<"left" | undefined> {
  const { client } = deps;
  const convId = screen.view.conversationId;
  const args = rest === "" ? [] : rest.split(/\s+/);
  switch (command) {
    case "/invite": {
      if (args.length === 0) return void deps.print("! /invite takes one or more usernames");
      const users = await Promise.all(args.map((name) => client.lookupUser(name)));
      for (const u of users) deps.directory.add(u);
      await client.addMembers(convId, users.map((u) => u.id));
      return;
    }
    case "/kick":
    case "/admin":
    case "/owner": {
      if (args.length !== 1) return void deps.print(`! ${command} takes one username`);
      const user = await client.lookupUser(args[0]!);
      deps.directory.add(user);
      if (command === "/kick") await client.removeMember(convId, user.id);
      else if (command === "/admin") await client.setMemberRole(convId, user.id, MemberRole.ADMIN);
      else await client.transferOwnership(convId, user.id);
      return;
    }
    case "/leave":
      await client.leaveGroup(convId);
      return "left";
    case "/title":
      if (rest === "") return void deps.print("! /title takes the new title");
      await client.updateGroupInfo(convId, rest);
      screen.title = rest;
      return;
    case "/members":
      return void (await showMembers(convId, deps));
    case "/readby": {
      const seq = args.length === 1 && /^[1-9][0-9]{0,19}$/.test(args[0]!) ? BigInt(args[0]!) : undefined;
      if (seq === undefined) return void deps.print("! /readby takes a message number, e.g. /readby 3");
      return void (await showReadBy(convId, seq, deps));
    }
  }
  return;
}

async function showMembers(convId: string, deps: GroupCommandDeps): Promise<void> {
  const members: { userId: string; role: MemberRole }[] = [];
  let count = 0;
  let token = "";
  do {
    const page = await deps.client.listMembers(convId, pageSize, token);
    members.push(...page.members);
    count = page.memberCount;
    token = page.nextPageToken;
  } while (token !== "");
  await deps.resolveNames(members.map((m) => m.userId));
  const nameOf = (id: string): string => (id === deps.myUserId ? "me" : deps.directory.nameOf(id));
  const rank = (r: MemberRole): number => (r === MemberRole.OWNER ? 0 : r === MemberRole.ADMIN ? 1 : 2);
  members.sort((a, b) => rank(a.role) - rank(b.role) || nameOf(a.userId).localeCompare(nameOf(b.userId)));
  const listed = members.map((m) => (m.role === MemberRole.OWNER || m.role === MemberRole.ADMIN ? `${nameOf(m.userId)} (${roleName(m.role).replace(/^(the|an) /, "")})` : nameOf(m.userId)));
  deps.print(`-- ${plural(count, "member")}: ${listed.join(", ")}`);
}

async function showReadBy(convId: string, seq: bigint, deps: GroupCommandDeps): Promise<void> {
  const readers: string[] = [];
  let readCount = 0;
  let memberCount = 0;
  let token = "";
  do {
    const page = await deps.client.listReadBy(convId, seq, pageSize, token);
    readers.push(...page.userIds);
    readCount = page.readCount;
    memberCount = page.memberCount;
    token = page.nextPageToken;
  } while (token !== "");
  await deps.resolveNames(readers);
  const who = readers.length > 0 ? `: ${readers.map((id) => (id === deps.myUserId ? "me" : deps.directory.nameOf(id))).join(", ")}` : "";
  deps.print(`-- [${seq}] read by ${readCount} of ${memberCount}${who}`);
}
