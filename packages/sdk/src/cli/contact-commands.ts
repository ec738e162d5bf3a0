import type { MessengerClient } from "../client.js";
import type { Page } from "../contacts.js";
import { printable } from "./printable.js";
import type { UserDirectory } from "./user-directory.js";

export const contactHelp = `  /contacts       your contacts, pending contact requests and message requests
  /add NAME       ask someone to be a contact (accepts theirs if they asked first)
  /accept NAME    accept someone's contact request
  /decline NAME   decline someone's contact request
  /block NAME     block someone: they can no longer message you, add you or see you online
  /unblock NAME   lift a block`;

/** Commands about people rather than the conversation on screen; they work in every chat. */
export const contactCommands = new Set(["/contacts", "/add", "/accept", "/decline", "/block", "/unblock"]);

/** Pages asked of the contacts lists. */
const pageSize = 200;

async function all<T>(page: (token: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token = "";
  do {
    const p = await page(token);
    items.push(...p.items);
    token = p.nextPageToken;
  } while (token !== "");
  return items;
}

/** Runs one contact command, printing its outcome; rejects with what failed. */
export async function runContactCommand(
  command: string,
  args: readonly string[],
  deps: { client: MessengerClient; directory: UserDirectory; print(line: string): void },
): Promise<void> {
  const { client, directory, print } = deps;
  if (command === "/contacts") return showContacts(deps);
  if (args.length !== 1) return print(`! ${command} takes one username`);
  const user = await client.lookupUser(args[0]!);
  directory.add(user);
  const name = printable(user.username);
  switch (command) {
    case "/add":
      return print((await client.contacts.request(user.id)) ? `-- ${name} had asked you: you are contacts now` : `-- asked ${name} to be a contact`);
    case "/accept":
      await client.contacts.accept(user.id);
      return print(`-- ${name} is a contact now`);
    case "/decline":
      await client.contacts.decline(user.id);
      return print(`-- declined ${name}'s request`);
    case "/block":
      await client.contacts.block(user.id);
      return print(`-- blocked ${name}`);
    case "/unblock":
      await client.contacts.unblock(user.id);
      return print(`-- unblocked ${name}`);
  }
}

async function showContacts(deps: { client: MessengerClient; directory: UserDirectory; print(line: string): void }): Promise<void> {
  const { client, print } = deps;
  const [contacts, incoming, outgoing, requests] = await Promise.all([
    all((t) => client.contacts.list(pageSize, t)),
    all((t) => client.contacts.requests("incoming", pageSize, t)),
    all((t) => client.contacts.requests("outgoing", pageSize, t)),
    all(async (t) => {
      const page = await client.listConversations(pageSize, t, "requests");
      return { items: page.conversations, nextPageToken: page.nextPageToken };
    }),
  ]);
  const names = (users: readonly ({ username: string } | undefined)[]): string => users.map((u) => printable(u?.username ?? "?")).join(", ");
  print(contacts.length === 0 ? "-- no contacts yet (/add NAME)" : `-- contacts: ${names(contacts.map((c) => c.user))}`);
  if (incoming.length > 0) print(`-- asking you: ${names(incoming.map((r) => r.user))} (/accept NAME or /decline NAME)`);
  if (outgoing.length > 0) print(`-- you asked: ${names(outgoing.map((r) => r.user))}`);
  const peers = requests.flatMap((c) => c.memberUserIds.filter((id) => id !== client.user?.id));
  if (peers.length > 0) {
    await deps.directory.resolve(peers);
    print(`-- message requests from: ${peers.map((id) => deps.directory.nameOf(id)).join(", ")} (open one with: chat ME NAME)`);
  }
}
