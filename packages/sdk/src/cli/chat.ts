import { Code, ConnectError } from "@connectrpc/connect";
import type { User } from "@messenger/proto/accounts/v1/types";
import { ConversationKind, MemberRole, type Conversation, type Message, type Presence } from "@messenger/proto/chat/v1/types";
import type { ConversationReset, FrameError } from "@messenger/proto/gateway/v1/gateway_service";
import { MessengerClient } from "../client.js";
import type { SessionCommand } from "./args.js";
import { ConversationView } from "./conversation-view.js";
import { contactCommands, contactHelp, runContactCommand } from "./contact-commands.js";
import { codeName, describeError } from "./errors.js";
import { GroupView } from "./group-view.js";
import { readPassword } from "./password-prompt.js";
import { printable } from "./printable.js";
import { ResumeFile, messengerHome, resumeFilePath } from "./resume-file.js";
import { roleName, userIdsIn } from "./system-event.js";
import { Terminal } from "./terminal.js";
import { UserDirectory } from "./user-directory.js";

/** The process's streams and environment, passed in so the chat does not reach for globals. */
export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

const historySize = 20;
/** Typing "true" is resent at most this often while keys are pressed (the server's indicator lasts 6 s). */
const typingRenewMs = 3_000;
/** How long /quit waits for sends still in flight. */
const quitGraceMs = 5_000;
const saveDelayMs = 1_000;
/** Pages asked of ListMembers, ListReadBy and ListConversations. */
const listPageSize = 200;

const chatHelp = `commands: /quit (or /exit) leaves, /help shows this; //text sends "/text"
${contactHelp}`;

const groupHelp = `commands: /quit (or /exit) leaves the chat, /help shows this; //text sends "/text"
${contactHelp}
  /invite NAME…   add people to the group
  /kick NAME      remove someone from the group
  /leave          leave the group (and the chat)
  /members        list the members and their roles
  /admin NAME     make a member an admin
  /owner NAME     hand the group over to a member
  /title TEXT     rename the group
  /readby SEQ     who read message SEQ`;

const groupCommands = new Set(["/invite", "/kick", "/leave", "/members", "/admin", "/owner", "/title", "/readby"]);

/** `chat`, `open` or `group`: resolves with the exit code, rejects with what ended it badly. */
export async function runChat(cmd: SessionCommand, io: Io): Promise<number> {
  const password = await readPassword(cmd.username, { env: io.env, input: io.stdin, output: io.stderr });
  const file = new ResumeFile(resumeFilePath(messengerHome(io.env), cmd.username, cmd.deviceId), cmd.url);
  const resume = await file.load((m) => io.stderr.write(`messenger: ${m}\n`));
  const client = new MessengerClient({ url: cmd.url, deviceId: cmd.deviceId, resume });
  const session = new ChatSession(client, cmd, file, io);
  try {
    await session.run(password);
    return 0;
  } finally {
    await session.dispose();
  }
}

/** A settle-once outcome that several sources (signals, /quit, the stream) may decide. */
class Outcome {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Observed by run(); this only keeps an early rejection from counting as unhandled.
    this.promise.catch(() => undefined);
  }
}

/** The conversation on screen: a direct chat with a peer, or a group. */
type Screen =
  /** `request` while the chat is one of my message requests: my first reply accepts it. */
  | { readonly kind: "direct"; readonly view: ConversationView; readonly peer: User; request: boolean }
  | { readonly kind: "group"; readonly view: GroupView; title: string };

class ChatSession {
  private readonly terminal: Terminal;
  private readonly done = new Outcome();
  private readonly directory: UserDirectory;
  private me: User | undefined;
  private screen: Screen | undefined;
  private closing = false;
  private reconnecting = false;
  private readSent = 0n;
  private readTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private typingSentAt = 0;
  /** The last typing refusal shown, not shown again. */
  private lastTypingError: string | undefined;
  /** The acceptance of the message request on screen, once the first reply asked for it. */
  private accepting: Promise<void> | undefined;
  /** Screen updates that wait for user names run in order, and later ones wait behind them. */
  private ui: Promise<void> = Promise.resolve();
  private uiPending = 0;
  private namesWarned = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly onSignal = (): void => this.done.resolve();

  constructor(
    private readonly client: MessengerClient,
    private readonly cmd: SessionCommand,
    private readonly file: ResumeFile,
    private readonly io: Io,
  ) {
    this.terminal = new Terminal(io.stdin, io.stdout);
    this.directory = new UserDirectory((ids) => client.getUsers(ids));
  }

  async run(password: string): Promise<void> {
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, this.onSignal);
    const { client } = this;
    this.print(`-- connecting to ${this.cmd.url} as ${this.cmd.username} (device ${this.cmd.deviceId})…`);
    const me = await client.login(this.cmd.username, password);
    this.me = me;
    this.directory.add(me);
    const screen = await this.enter(me);
    this.screen = screen;
    const view = screen.view;
    const convId = view.conversationId;

    const history = await client.listMessages(convId, { pageSize: historySize });
    const oldest = history.messages[0]?.seq;
    if (history.hasMore && oldest !== undefined) {
      // A group member may not see every seq: only a direct chat's count is exact.
      if (screen.kind === "direct") this.print(`… ${oldest - 1n} earlier message${oldest === 2n ? "" : "s"}`);
      else this.print("… earlier messages not shown");
    }
    await this.resolveNames(history.messages.flatMap(idsOf));
    for (const m of history.messages) view.show(m);
    if (screen.kind === "direct") {
      const peerReceipt = client.receiptsOf(convId).get(screen.peer.id);
      if (peerReceipt) screen.view.onReceipt(peerReceipt);
    } else {
      const summary = client.receiptSummaryOf(convId);
      if (summary) screen.view.onSummary(summary);
      screen.view.onMemberRead((seq) => client.readCount(convId, seq, me.id));
    }

    client.on("message", (m) => this.onMessage(m));
    client.on("receipt", ({ conversationId, receipt }) => {
      if (conversationId !== convId) return;
      this.later([], () => {
        if (screen.kind === "direct") screen.view.onReceipt(receipt);
        else screen.view.onMemberRead((seq) => client.readCount(convId, seq, me.id));
      });
    });
    client.on("receiptSummary", ({ conversationId, summary }) => {
      if (conversationId === convId && screen.kind === "group") this.later([], () => screen.view.onSummary(summary));
    });
    client.on("presence", (p) => {
      if (screen.kind === "direct") this.later([], () => screen.view.onPresence(p));
    });
    client.on("typing", (t) => this.later([t.userId], () => view.onTyping(t)));
    client.on("reset", (r) => void this.onReset(r));
    client.on("synced", () => this.onSynced());
    client.on("disconnected", ({ error }) => this.onDisconnected(error));
    client.on("frameError", (e) => this.onFrameError(e));

    const connected = await Promise.race([client.connect().then(() => true), this.done.promise.then(() => false)]);
    if (!connected) return;
    if (screen.kind === "direct") {
      const presence = await client.getPresence([screen.peer.id]).catch((err: unknown): Presence[] => {
        this.print(`! presence unavailable: ${describeError(err)}`);
        return [];
      });
      for (const p of presence) screen.view.onPresence(p);
      this.print(`-- connected; chatting with ${screen.peer.username}. /help for commands`);
    } else {
      // A large group's messages are not pushed: the client pulls them while it is open.
      await client.openConversation(convId, { after: view.shownUpTo }).catch((err: unknown) => {
        this.print(`! could not load new messages: ${describeError(err)}`);
      });
      await this.ui;
      this.print(`-- connected; in group ${quote(screen.title)} (${plural(screen.view.memberCount, "member")}). /help for commands`);
    }

    this.terminal.start({
      line: (text) => this.onLine(text),
      interrupt: () => this.done.resolve(),
      end: () => this.done.resolve(),
      keypress: (line) => this.onKeypress(line),
    });
    await this.done.promise;
    await this.drainSends();
  }

  /** Stops input, closes the client and saves where the device got to. */
  async dispose(): Promise<void> {
    this.closing = true;
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(s, this.onSignal);
    this.terminal.close();
    clearTimeout(this.readTimer);
    clearTimeout(this.saveTimer);
    if (this.client.isConnected) this.flushRead();
    await this.client.close();
    // Nothing moved unless the conversation was opened (a failed login must not write a file).
    if (!this.screen) return;
    await this.file.save(this.client.resumeState()).catch((err: unknown) => {
      this.io.stderr.write(`messenger: could not save resume state to ${this.file.path}: ${describeError(err)}\n`);
    });
  }

  /** Finds or makes the conversation the command names, and its view. */
  private async enter(me: User): Promise<Screen> {
    const { client, cmd } = this;
    const print = (l: string): void => this.print(l);
    switch (cmd.kind) {
      case "chat": {
        const peer = await client.lookupUser(cmd.peer);
        this.directory.add(peer);
        const conv = await client.openDirect(peer.id);
        if (conv.request) this.print(`-- a message request from ${printable(peer.username)}, who is not a contact: replying accepts it; /block ${printable(peer.username)} stops them`);
        return {
          kind: "direct",
          peer,
          request: conv.request,
          view: new ConversationView(conv.id, { myUserId: me.id, peerUserId: peer.id, peerName: printable(peer.username) }, print),
        };
      }
      case "group": {
        const members = await Promise.all(cmd.members.map((name) => client.lookupUser(name)));
        for (const u of members) this.directory.add(u);
        const conv = await client.createGroup(cmd.title, members.map((u) => u.id));
        this.print(`-- created group ${quote(conv.title)} (id ${conv.id})`);
        return this.groupScreen(conv, me);
      }
      case "open": {
        const conv = await this.findGroup(cmd.group);
        if (!conv.isMember) this.print(`-- you are no longer a member of ${quote(conv.title)}: history only`);
        return this.groupScreen(conv, me);
      }
    }
  }

  private groupScreen(conv: Conversation, me: User): Screen {
    const names = { myUserId: me.id, nameOf: (id: string) => this.directory.nameOf(id) };
    return { kind: "group", title: conv.title, view: new GroupView(conv.id, names, conv.memberCount, (l) => this.print(l)) };
  }

  /** One of my groups by conversation id, or by title when exactly one of them has it. */
  private async findGroup(group: string): Promise<Conversation> {
    const groups: Conversation[] = [];
    let token = "";
    do {
      const page = await this.client.listConversations(listPageSize, token);
      groups.push(...page.conversations.filter((c) => c.kind === ConversationKind.GROUP));
      token = page.nextPageToken;
    } while (token !== "");
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

  private print(line: string): void {
    this.terminal.print(line);
  }

  /**
   * Runs a screen update in order with the others: at once when nothing waits and the names
   * it shows are known, else after the updates queued before it and a look-up of the names.
   */
  private later(userIds: readonly string[], update: () => void): void {
    if (this.uiPending === 0 && this.directory.knows(userIds)) {
      update();
      return;
    }
    this.uiPending++;
    this.ui = this.ui
      .then(() => this.resolveNames(userIds))
      .then(update)
      .catch((err: unknown) => this.print(`! ${describeError(err)}`))
      .finally(() => this.uiPending--);
  }

  /** Looks up user names; on failure the ids are shown instead (warned once). */
  private async resolveNames(userIds: readonly string[]): Promise<void> {
    try {
      await this.directory.resolve(userIds);
    } catch (err) {
      if (this.namesWarned) return;
      this.namesWarned = true;
      this.print(`! user names unavailable (${describeError(err)}); showing ids`);
    }
  }

  private onLine(raw: string): void {
    if (this.closing || raw.trim() === "") return;
    if (raw.startsWith("//")) return this.send(raw.slice(1));
    if (!raw.startsWith("/")) return this.send(raw);
    const trimmed = raw.trim();
    const command = trimmed.split(/\s+/)[0] ?? "";
    const rest = trimmed.slice(command.length).trim();
    switch (command) {
      case "/quit":
      case "/exit":
        return this.done.resolve();
      case "/help":
        return this.print(this.screen?.kind === "group" ? groupHelp : chatHelp);
      default:
        if (contactCommands.has(command)) {
          const args = rest === "" ? [] : rest.split(/\s+/);
          const deps = { client: this.client, directory: this.directory, print: (l: string) => this.print(l) };
          return this.track(runContactCommand(command, args, deps).catch((err: unknown) => this.print(`! ${command} failed: ${describeError(err)}`)));
        }
        if (groupCommands.has(command)) {
          if (this.screen?.kind !== "group") return this.print(`! ${command} works in groups only`);
          return this.track(this.groupCommand(command, rest).catch((err: unknown) => this.print(`! ${command} failed: ${describeError(err)}`)));
        }
        return this.print(`! unknown command ${command}; ${this.screen?.kind === "group" ? groupHelp : chatHelp}`);
    }
  }

  /** A group command; its system message shows up as the client emits it. */
  private async groupCommand(command: string, rest: string): Promise<void> {
    const { client } = this;
    const screen = this.screen;
    if (screen?.kind !== "group") return;
    const convId = screen.view.conversationId;
    const args = rest === "" ? [] : rest.split(/\s+/);
    switch (command) {
      case "/invite": {
        if (args.length === 0) return this.print("! /invite takes one or more usernames");
        const users = await Promise.all(args.map((name) => client.lookupUser(name)));
        for (const u of users) this.directory.add(u);
        await client.addMembers(convId, users.map((u) => u.id));
        return;
      }
      case "/kick":
      case "/admin":
      case "/owner": {
        if (args.length !== 1) return this.print(`! ${command} takes one username`);
        const user = await client.lookupUser(args[0]!);
        this.directory.add(user);
        if (command === "/kick") await client.removeMember(convId, user.id);
        else if (command === "/admin") await client.setMemberRole(convId, user.id, MemberRole.ADMIN);
        else await client.transferOwnership(convId, user.id);
        return;
      }
      case "/leave":
        await client.leaveGroup(convId);
        await this.ui;
        this.done.resolve();
        return;
      case "/title":
        if (rest === "") return this.print("! /title takes the new title");
        await client.updateGroupInfo(convId, rest);
        screen.title = rest;
        return;
      case "/members":
        return this.showMembers(convId);
      case "/readby": {
        const seq = args.length === 1 && /^[1-9][0-9]{0,19}$/.test(args[0]!) ? BigInt(args[0]!) : undefined;
        if (seq === undefined) return this.print("! /readby takes a message number, e.g. /readby 3");
        return this.showReadBy(convId, seq);
      }
    }
  }

  private async showMembers(convId: string): Promise<void> {
    const members: { userId: string; role: MemberRole }[] = [];
    let count = 0;
    let token = "";
    do {
      const page = await this.client.listMembers(convId, listPageSize, token);
      members.push(...page.members);
      count = page.memberCount;
      token = page.nextPageToken;
    } while (token !== "");
    await this.resolveNames(members.map((m) => m.userId));
    const rank = (r: MemberRole): number => (r === MemberRole.OWNER ? 0 : r === MemberRole.ADMIN ? 1 : 2);
    members.sort((a, b) => rank(a.role) - rank(b.role) || this.nameOf(a.userId).localeCompare(this.nameOf(b.userId)));
    const listed = members.map((m) => (m.role === MemberRole.OWNER || m.role === MemberRole.ADMIN ? `${this.nameOf(m.userId)} (${roleName(m.role).replace(/^(the|an) /, "")})` : this.nameOf(m.userId)));
    this.print(`-- ${plural(count, "member")}: ${listed.join(", ")}`);
  }

  private async showReadBy(convId: string, seq: bigint): Promise<void> {
    const readers: string[] = [];
    let readCount = 0;
    let memberCount = 0;
    let token = "";
    do {
      const page = await this.client.listReadBy(convId, seq, listPageSize, token);
      readers.push(...page.userIds);
      readCount = page.readCount;
      memberCount = page.memberCount;
      token = page.nextPageToken;
    } while (token !== "");
    await this.resolveNames(readers);
    const who = readers.length > 0 ? `: ${readers.map((id) => this.nameOf(id)).join(", ")}` : "";
    this.print(`-- [${seq}] read by ${readCount} of ${memberCount}${who}`);
  }

  /** A user's name, "me" for the logged-in user. */
  private nameOf(userId: string): string {
    return userId === this.me?.id ? "me" : this.directory.nameOf(userId);
  }

  private send(text: string): void {
    const view = this.screen?.view;
    if (!view) return;
    if (this.typingSentAt > 0) {
      this.typingSentAt = 0;
      this.client.setTyping(view.conversationId, false);
    }
    const screen = this.screen;
    // Replying to a message request accepts it, as in every mainstream messenger. Every send
    // waits on the one acceptance, so lines keep the order they were typed in.
    if (screen?.kind === "direct" && screen.request && !this.accepting) {
      this.accepting = this.client.acceptMessageRequest(view.conversationId).then(
        () => {
          screen.request = false;
        },
        (err: unknown) => {
          // The next line tries again.
          this.accepting = undefined;
          throw err;
        },
      );
    }
    const accepted = this.accepting ?? Promise.resolve();
    // The message is printed when the client emits it, with its seq.
    this.track(
      accepted.then(() => this.client.send(view.conversationId, text)).then(
        () => {
          // Sending works again: a later typing refusal is news.
          this.lastTypingError = undefined;
        },
        (err: unknown) => this.print(`! not sent (${describeError(err)}): ${printable(text)}`),
      ),
    );
  }

  /** Keeps a send or command in flight, so `/quit` right after it does not lose it. */
  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Waits a little for sends still in flight, so `/quit` right after a line does not lose it. */
  private async drainSends(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, quitGraceMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]).then(() => this.ui), timeout]);
    clearTimeout(timer);
  }

  private onKeypress(line: string): void {
    // A command being typed is not a message being typed.
    if (line.startsWith("/") && !line.startsWith("//")) return;
    const view = this.screen?.view;
    if (!view || !this.client.isConnected || Date.now() - this.typingSentAt < typingRenewMs) return;
    this.typingSentAt = Date.now();
    this.client.setTyping(view.conversationId, true);
  }

  private onMessage(m: Message): void {
    const view = this.screen?.view;
    if (!view || m.conversationId !== view.conversationId) return;
    if (changesMembers(m)) this.refreshMemberCount();
    this.later(idsOf(m), () => {
      view.show(m);
      this.readTimer ??= setTimeout(() => {
        this.readTimer = undefined;
        this.flushRead();
      }, 50);
      this.saveTimer ??= setTimeout(() => {
        this.saveTimer = undefined;
        this.save();
      }, saveDelayMs);
    });
  }

  /** Reads the group's member count again, for "read by k of n". */
  private refreshMemberCount(): void {
    const screen = this.screen;
    if (screen?.kind !== "group") return;
    this.client.getConversation(screen.view.conversationId).then(
      (c) => this.later([], () => screen.view.setMemberCount(c.memberCount)),
      // The next receipt summary carries the count too.
      () => undefined,
    );
  }

  /** Marks read what is on screen. Frames written while disconnected are lost, so synced resends. */
  private flushRead(): void {
    const view = this.screen?.view;
    if (!view || !this.client.isConnected) return;
    const seq = view.shownUpTo;
    if (seq <= this.readSent) return;
    this.client.markRead(view.conversationId, seq);
    this.readSent = seq;
  }

  private onSynced(): void {
    if (this.reconnecting) this.print("-- reconnected");
    this.reconnecting = false;
    this.readSent = 0n;
    this.flushRead();
    this.save();
  }

  private onDisconnected(error: ConnectError | undefined): void {
    if (this.closing) return;
    if (error?.code === Code.Unauthenticated) {
      // The client has given up (its refresh token was refused too): nothing left to wait for.
      this.done.reject(error);
      return;
    }
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.print(`-- disconnected${error ? ` (${describeError(error)})` : ""}; reconnecting…`);
  }

  private async onReset(r: ConversationReset): Promise<void> {
    const view = this.screen?.view;
    if (!view || r.conversationId !== view.conversationId) return;
    view.hold();
    let page: Message[] = [];
    try {
      page = (await this.client.listMessages(view.conversationId, { anchorSeq: r.lastSeq + 1n, pageSize: historySize })).messages;
      await this.resolveNames(page.flatMap(idsOf));
    } catch (err) {
      this.print(`! could not reload the conversation: ${describeError(err)}`);
    }
    view.release(page);
    this.flushRead();
  }

  private onFrameError(e: FrameError): void {
    const line = `! server rejected a ${e.frame || "frame"}: ${codeName(e.code)}: ${e.message}`;
    // Typing is renewed every few seconds while keys are pressed: one line says it all.
    if (e.frame === "typing" && line === this.lastTypingError) return;
    if (e.frame === "typing") this.lastTypingError = line;
    this.print(line);
  }

  private save(): void {
    void this.file.save(this.client.resumeState()).catch((err: unknown) => {
      this.print(`! could not save resume state: ${describeError(err)}`);
    });
  }
}

/** The user ids a message shows: its sender and, for a system message, everyone it names. */
function idsOf(m: Message): string[] {
  return m.body.case === "system" ? userIdsIn(m.body.value) : [m.senderUserId];
}

function changesMembers(m: Message): boolean {
  if (m.body.case !== "system") return false;
  const kind = m.body.value.event.case;
  return kind === "membersAdded" || kind === "memberRemoved" || kind === "memberLeft";
}

function quote(s: string): string {
  return `“${printable(s)}”`;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}
