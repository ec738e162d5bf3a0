import { Code, type ConnectError } from "@connectrpc/connect";
import type { User } from "@messenger/proto/accounts/v1/types";
import type { Message } from "@messenger/proto/chat/v1/types";
import type { ConversationReset, FrameError } from "@messenger/proto/gateway/v1/gateway_service";
import type { MessengerClient } from "../client.js";
import type { SessionCommand } from "./args.js";
import { contactCommands, contactHelp, runContactCommand } from "./contact-commands.js";
import { codeName, describeError } from "./errors.js";
import { groupCommands, groupHelp, runGroupCommand, type GroupCommandDeps } from "./group-commands.js";
import { describeTarget, inboxLines, loadInbox, resolveTarget, type InboxDeps } from "./inbox.js";
import { maxMessageChars } from "./line-limit.js";
import { marksFor, type Marks } from "./marks.js";
import { mediaCommands, mediaHelp, runMediaCommand, type MediaCommandDeps } from "./media-commands.js";
import { Outcome } from "./outcome.js";
import { retentionHelp, runRetentionCommand } from "./retention-command.js";
import { readPassword } from "./password-prompt.js";
import { printable } from "./printable.js";
import { ResumeFile, messengerHome, resumeFilePath } from "./resume-file.js";
import { enterScreen, followScreen, historySize, idsOf, whereLine, type EntryDeps } from "./screen-entry.js";
import { findGroup, plural, quote, type Screen, type Target } from "./screens.js";
import { signIn } from "./sign-in.js";
import { handleStopSignals, type StopSignals } from "./stop-signals.js";
import { Terminal } from "./terminal.js";
import { UserDirectory } from "./user-directory.js";

/** The process's streams and environment, passed in so the chat does not reach for globals. */
export interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

/** Typing "true" is resent at most this often while keys are pressed (the server's indicator lasts 6 s). */
const typingRenewMs = 3_000;
/** How long /quit waits for sends still in flight. */
const quitGraceMs = 5_000;
const saveDelayMs = 1_000;

const chatHelp = `commands: /quit (or /exit) leaves (Ctrl-C too), /help shows this; //text sends "/text"
  /inbox          your conversations, direct and groups, with unread counts
  /open NAME|N    switch to the direct chat with user NAME, the group titled NAME, or /inbox entry N
${retentionHelp}
${mediaHelp}
${contactHelp}`;

const groupChatHelp = `${chatHelp}
${groupHelp}`;

/** `chat`, `open` or `group`: resolves with the exit code, rejects with what ended it badly. */
export async function runChat(cmd: SessionCommand, io: Io): Promise<number> {
  const password = await readPassword(cmd.username, { env: io.env, input: io.stdin, output: io.stderr });
  const warn = (m: string): void => void io.stderr.write(`messenger: ${m}\n`);
  const file = new ResumeFile(resumeFilePath(messengerHome(io.env), cmd.username, cmd.deviceId));
  const saved = await file.load(warn);
  io.stdout.write(`-- connecting to ${cmd.urls.join(", ")} as ${cmd.username} (device ${cmd.deviceId})…\n`);
  // Until the session runs, a signal ends the process at once (nothing to save yet).
  const { client, me } = await signIn({ urls: cmd.urls, deviceId: cmd.deviceId, username: cmd.username, password, saved, savedPath: file.path, warn });
  const session = new ChatSession(client, me, cmd, file, io);
  try {
    await session.run();
    return 0;
  } finally {
    await session.dispose();
  }
}

class ChatSession {
  private readonly terminal: Terminal;
  private readonly marks: Marks;
  private readonly directory: UserDirectory;
  private readonly done = new Outcome();
  /** Ctrl-C or a signal: leave without waiting for sends in flight (see handleStopSignals). */
  private readonly now = new Outcome();
  private quitNow = false;
  private screen: Screen | undefined;
  /** The conversations as /inbox last listed them, for /open N. */
  private inbox: Target[] | undefined;
  /** Conversations off screen whose new messages were pointed out already. */
  private readonly noticed = new Set<string>();
  /** Until the first sync, messages off screen are counted, to be pointed out in one line. */
  private firstSyncDone = false;
  /** /open runs one at a time. */
  private switching: Promise<void> = Promise.resolve();
  private closing = false;
  private reconnecting = false;
  private readTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private typingSentAt = 0;
  /** The last typing refusal shown, not shown again. */
  private lastTypingError: string | undefined;
  /** Screen updates that wait for user names run in order, and later ones wait behind them. */
  private ui: Promise<void> = Promise.resolve();
  private uiPending = 0;
  private namesWarned = false;
  private readonly inFlight = new Set<Promise<void>>();
  private signals: StopSignals | undefined;

  constructor(
    private readonly client: MessengerClient,
    private readonly me: User,
    private readonly cmd: SessionCommand,
    private readonly file: ResumeFile,
    private readonly io: Io,
  ) {
    this.terminal = new Terminal(io.stdin, io.stdout);
    this.marks = marksFor(this.terminal.colors);
    this.directory = new UserDirectory((ids) => client.getUsers(ids));
    this.directory.add(me);
  }

  async run(): Promise<void> {
    this.signals = handleStopSignals(() => this.stopNow());
    const target = await this.initialTarget();
    this.listen();
    const screen = await enterScreen(target, this.entryDeps());
    const connected = await Promise.race([this.client.connect().then(() => true), this.done.promise.then(() => false)]);
    if (!connected) return;
    await followScreen(screen, this.entryDeps());
    this.print(`-- connected; ${whereLine(screen)}. /help for commands`);
    this.terminal.start({
      line: (text) => this.onLine(text),
      interrupt: () => this.signals?.stopWith("SIGINT"),
      end: () => this.done.resolve(),
      keypress: (key) => this.onKeypress(key),
    });
    await this.done.promise;
    if (!this.quitNow) await this.drainSends();
  }

  /** Stops input, closes the client and saves where the device got to. */
  async dispose(): Promise<void> {
    this.closing = true;
    this.signals?.uninstall();
    this.terminal.close();
    clearTimeout(this.readTimer);
    clearTimeout(this.saveTimer);
    if (this.client.isConnected && this.screen) this.flushRead(this.screen);
    await this.client.close();
    // Nothing moved unless a conversation was opened.
    if (!this.screen) return;
    await this.file.save(this.me.id, this.client.resumeState()).catch((err: unknown) => {
      this.io.stderr.write(`messenger: could not save resume state to ${this.file.path}: ${describeError(err)}\n`);
    });
  }

  private stopNow(): void {
    this.quitNow = true;
    this.now.resolve();
    this.done.resolve();
  }

  /** The conversation the command line names, made if it asks for a new group. */
  private async initialTarget(): Promise<Target> {
    const { client, cmd } = this;
    switch (cmd.kind) {
      case "chat": {
        const peer = await client.lookupUser(cmd.peer);
        this.directory.add(peer);
        return { kind: "direct", conversation: await client.openDirect(peer.id), peer: { id: peer.id, name: printable(peer.username) } };
      }
      case "group": {
        const members = await Promise.all(cmd.members.map((name) => client.lookupUser(name)));
        for (const u of members) this.directory.add(u);
        const conversation = await client.createGroup(cmd.title, members.map((u) => u.id));
        this.print(`-- created group ${quote(conversation.title)} (id ${conversation.id})`);
        return { kind: "group", conversation };
      }
      case "open":
        return { kind: "group", conversation: await findGroup(client, cmd.group) };
    }
  }

  /** Routes the client's events to the screen; events of other conversations are left out. */
  private listen(): void {
    const { client, me } = this;
    client.on("message", (m) => this.onMessage(m));
    client.on("receipt", ({ conversationId, receipt }) => {
      const s = this.screen;
      if (!s || conversationId !== s.view.conversationId) return;
      this.later([], () => {
        if (s.kind === "direct") s.view.onReceipt(receipt);
        else s.view.onMemberRead((seq) => client.readCount(conversationId, seq, me.id));
      });
    });
    client.on("receiptSummary", ({ conversationId, summary }) => {
      const s = this.screen;
      if (s?.kind === "group" && conversationId === s.view.conversationId) this.later([], () => s.view.onSummary(summary));
    });
    client.on("presence", (p) => {
      const s = this.screen;
      if (s?.kind === "direct") this.later([], () => s.view.onPresence(p));
    });
    client.on("typing", (t) => {
      const s = this.screen;
      if (s && t.conversationId === s.view.conversationId) this.later([t.userId], () => s.view.onTyping(t));
    });
    client.on("reset", (r) => void this.onReset(r));
    client.on("synced", () => this.onSynced());
    client.on("disconnected", ({ error }) => this.onDisconnected(error));
    client.on("frameError", (e) => this.onFrameError(e));
  }

  /** `/open ARG`: the conversation on screen becomes another one. */
  private async switchTo(arg: string): Promise<void> {
    const target = await resolveTarget(arg, this.inbox, this.inboxDeps());
    const previous = this.screen;
    if (previous?.view.conversationId === target.conversation.id) return this.print(`-- already in ${describeTarget(target)}`);
    if (previous) {
      this.flushRead(previous);
      if (this.typingSentAt > 0) this.client.setTyping(previous.view.conversationId, false);
    }
    this.typingSentAt = 0;
    let screen: Screen;
    try {
      screen = await enterScreen(target, this.entryDeps());
    } catch (err) {
      this.screen = previous;
      throw err;
    }
    if (previous?.kind === "group") this.client.closeConversation(previous.view.conversationId);
    await followScreen(screen, this.entryDeps());
    this.print(`-- now ${whereLine(screen)}`);
    this.flushRead(screen);
  }

  private async showInbox(): Promise<void> {
    const deps = this.inboxDeps();
    const targets = await loadInbox(deps);
    this.inbox = targets;
    this.print(inboxLines(targets, this.screen?.view.conversationId, deps).join("\n"));
  }

  private entryDeps(): EntryDeps {
    return {
      ...this.inboxDeps(),
      me: this.me,
      marks: this.marks,
      show: (screen) => {
        this.screen = screen;
        this.noticed.delete(screen.view.conversationId);
      },
      onScreen: (conversationId) => this.screen?.view.conversationId === conversationId,
      idle: () => this.ui,
    };
  }

  private inboxDeps(): InboxDeps & GroupCommandDeps {
    return {
      client: this.client,
      directory: this.directory,
      myUserId: this.me.id,
      print: (l: string) => this.print(l),
      resolveNames: (ids: readonly string[]) => this.resolveNames(ids),
    };
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
    if (raw.length > maxMessageChars) {
      const more = this.terminal.droppingUntilEnter ? "; the rest of it, up to the next Enter, is dropped too" : "";
      return this.print(`! not sent: a message holds at most ${maxMessageChars} characters and that line had more${more}`);
    }
    if (raw.startsWith("//")) return this.send(raw.slice(1));
    if (!raw.startsWith("/")) return this.send(raw);
    const trimmed = raw.trim();
    const command = trimmed.split(/\s+/)[0] ?? "";
    const rest = trimmed.slice(command.length).trim();
    const help = this.screen?.kind === "group" ? groupChatHelp : chatHelp;
    const failed = (err: unknown): void => this.print(`! ${command} failed: ${describeError(err)}`);
    switch (command) {
      case "/quit":
      case "/exit":
        return this.done.resolve();
      case "/help":
        return this.print(help);
      case "/inbox":
        return this.track(this.showInbox().catch(failed));
      case "/open": {
        if (rest === "") return this.print("! /open takes a username, a group title or an /inbox number");
        const next = this.switching.then(() => this.switchTo(rest)).catch(failed);
        this.switching = next;
        return this.track(next);
      }
      default: {
        if (contactCommands.has(command)) {
          const args = rest === "" ? [] : rest.split(/\s+/);
          return this.track(runContactCommand(command, args, this.inboxDeps()).catch(failed));
        }
        const screen = this.screen;
        if (command === "/retention") {
          if (!screen) return;
          return this.track(runRetentionCommand(rest, screen.view.conversationId, this.client, (l) => this.print(l)).catch(failed));
        }
        if (mediaCommands.has(command)) {
          if (!screen) return;
          return this.track(runMediaCommand(command, rest, screen.view.conversationId, this.mediaDeps(screen)).catch(failed));
        }
        if (groupCommands.has(command)) {
          if (screen?.kind !== "group") return this.print(`! ${command} works in groups only`);
          const run = runGroupCommand(command, rest, screen, this.inboxDeps()).then(async (outcome) => {
            if (outcome !== "left") return;
            await this.ui;
            this.done.resolve();
          });
          return this.track(run.catch(failed));
        }
        return this.print(`! unknown command ${command}; ${help}`);
      }
    }
  }

  private send(text: string): void {
    const screen = this.screen;
    if (!screen) return;
    const convId = screen.view.conversationId;
    if (this.typingSentAt > 0) {
      this.typingSentAt = 0;
      this.client.setTyping(convId, false);
    }
    // The message is printed when the client emits it, with its seq and the "sent" mark.
    this.track(
      this.accepted(screen)
        .then(() => this.client.send(convId, text))
        .then(
          () => {
            // Sending works again: a later typing refusal is news.
            this.lastTypingError = undefined;
          },
          (err: unknown) => this.print(`! not sent (${describeError(err)}): ${printable(text)}`),
        ),
    );
  }

  /**
   * Resolves when the screen's conversation takes my messages. Replying to a message request
   * accepts it, as in every mainstream messenger. Every send waits on the one acceptance, so
   * lines keep the order they were typed in.
   */
  private accepted(screen: Screen): Promise<void> {
    const convId = screen.view.conversationId;
    if (screen.kind === "direct" && screen.request && !screen.accepting) {
      screen.accepting = this.client.acceptMessageRequest(convId).then(
        () => {
          screen.request = false;
        },
        (err: unknown) => {
          // The next line tries again.
          screen.accepting = undefined;
          throw err;
        },
      );
    }
    return (screen.kind === "direct" ? screen.accepting : undefined) ?? Promise.resolve();
  }

  private mediaDeps(screen: Screen): MediaCommandDeps {
    return {
      client: this.client,
      cwd: process.cwd(),
      progress: {
        interactive: this.terminal.interactive,
        write: (raw) => {
          if (!this.closing) this.io.stdout.write(raw);
        },
        print: (l) => this.print(l),
      },
      print: (l) => this.print(l),
      readyToSend: () => this.accepted(screen),
      onScreen: (conversationId) => this.screen?.view.conversationId === conversationId,
    };
  }

  /** Keeps a send or command in flight, so `/quit` right after it does not lose it. */
  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Waits a little for sends still in flight, so `/quit` right after a line does not lose it; Ctrl-C cuts it short. */
  private async drainSends(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const pending = this.client.pendingSends;
    if (pending > 0) this.print(`-- waiting for ${plural(pending, "message")} to be stored (Ctrl-C quits now)…`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, quitGraceMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]).then(() => this.ui), timeout, this.now.promise]);
    clearTimeout(timer);
  }

  private onKeypress(key: string): void {
    const screen = this.screen;
    if (!screen || !this.client.isConnected || Date.now() - this.typingSentAt < typingRenewMs) return;
    // A command being typed is not a message being typed. (Readline may not hold the key yet.)
    const draft = this.terminal.draft || key;
    if (draft.startsWith("/") && !draft.startsWith("//")) return;
    this.typingSentAt = Date.now();
    this.client.setTyping(screen.view.conversationId, true);
  }

  private onMessage(m: Message): void {
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, saveDelayMs);
    const screen = this.screen;
    if (!screen || m.conversationId !== screen.view.conversationId) return this.pointOut(m);
    if (changesMembers(m)) this.refreshMemberCount(screen);
    this.later(idsOf(m), () => {
      screen.view.show(m);
      this.readTimer ??= setTimeout(() => {
        this.readTimer = undefined;
        if (this.screen) this.flushRead(this.screen);
      }, 50);
    });
  }

  /**
   * Says once that someone wrote in a conversation off screen (until it is opened); what the
   * first sync replays is summed up in one line when it ends.
   */
  private pointOut(m: Message): void {
    if (m.senderUserId === this.me.id || m.body.case === "system" || this.noticed.has(m.conversationId)) return;
    this.noticed.add(m.conversationId);
    if (!this.firstSyncDone) return;
    this.later([m.senderUserId], () => this.print(`-- ${this.directory.nameOf(m.senderUserId)} wrote in another conversation; /inbox lists them, /open switches`));
  }

  /** Reads the group's member count again, for "read by k of n". */
  private refreshMemberCount(screen: Screen): void {
    if (screen.kind !== "group") return;
    this.client.getConversation(screen.view.conversationId).then(
      (c) => this.later([], () => screen.view.setMemberCount(c.memberCount)),
      // The next receipt summary carries the count too.
      () => undefined,
    );
  }

  /** Marks read what is on screen. Frames written while disconnected are lost, so synced resends. */
  private flushRead(screen: Screen): void {
    if (!this.client.isConnected) return;
    const seq = screen.view.shownUpTo;
    if (seq <= screen.readSent) return;
    this.client.markRead(screen.view.conversationId, seq);
    screen.readSent = seq;
  }

  private onSynced(): void {
    if (!this.firstSyncDone) {
      this.firstSyncDone = true;
      const n = this.noticed.size;
      if (n > 0) this.later([], () => this.print(`-- new messages in ${plural(n, "other conversation")}; /inbox lists them`));
    }
    if (this.reconnecting) this.print("-- reconnected");
    this.reconnecting = false;
    if (this.screen) {
      this.screen.readSent = 0n;
      this.flushRead(this.screen);
    }
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
    const screen = this.screen;
    if (!screen || r.conversationId !== screen.view.conversationId) return;
    const view = screen.view;
    view.hold();
    let page: Message[] = [];
    try {
      page = (await this.client.listMessages(view.conversationId, { anchorSeq: r.lastSeq + 1n, pageSize: historySize })).messages;
      await this.resolveNames(page.flatMap(idsOf));
    } catch (err) {
      this.print(`! could not reload the conversation: ${describeError(err)}`);
    }
    view.release(page);
    this.flushRead(screen);
  }

  private onFrameError(e: FrameError): void {
    const line = `! server rejected a ${e.frame || "frame"}: ${codeName(e.code)}: ${e.message}`;
    // Typing is renewed every few seconds while keys are pressed: one line says it all.
    if (e.frame === "typing" && line === this.lastTypingError) return;
    if (e.frame === "typing") this.lastTypingError = line;
    this.print(line);
  }

  private save(): void {
    void this.file.save(this.me.id, this.client.resumeState()).catch((err: unknown) => {
      this.print(`! could not save resume state: ${describeError(err)}`);
    });
  }
}

function changesMembers(m: Message): boolean {
  if (m.body.case !== "system") return false;
  const kind = m.body.value.event.case;
  return kind === "membersAdded" || kind === "memberRemoved" || kind === "memberLeft";
}
