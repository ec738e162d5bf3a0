import { Code, type ConnectError } from "@connectrpc/connect";
import type { Message, Presence } from "@messenger/proto/chat/v1/types";
import type { ConversationReset, FrameError } from "@messenger/proto/gateway/v1/gateway_service";
import { MessengerClient } from "../client.js";
import type { ChatCommand } from "./args.js";
import { ConversationView } from "./conversation-view.js";
import { codeName, describeError } from "./errors.js";
import { readPassword } from "./password-prompt.js";
import { ResumeFile, messengerHome, resumeFilePath } from "./resume-file.js";
import { Terminal } from "./terminal.js";

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

const chatHelp = `commands: /quit (or /exit) leaves, /help shows this; //text sends "/text"`;

/** `chat <username> <peer>`: resolves with the exit code, rejects with what ended it badly. */
export async function runChat(cmd: ChatCommand, io: Io): Promise<number> {
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

class ChatSession {
  private readonly terminal: Terminal;
  private readonly done = new Outcome();
  private view: ConversationView | undefined;
  private closing = false;
  private reconnecting = false;
  private readSent = 0n;
  private readTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private typingSentAt = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly onSignal = (): void => this.done.resolve();

  constructor(
    private readonly client: MessengerClient,
    private readonly cmd: ChatCommand,
    private readonly file: ResumeFile,
    private readonly io: Io,
  ) {
    this.terminal = new Terminal(io.stdin, io.stdout);
  }

  async run(password: string): Promise<void> {
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, this.onSignal);
    const { client } = this;
    this.print(`-- connecting to ${this.cmd.url} as ${this.cmd.username} (device ${this.cmd.deviceId})…`);
    const me = await client.login(this.cmd.username, password);
    const peer = await client.lookupUser(this.cmd.peer);
    const conv = await client.openDirect(peer.id);
    const view = new ConversationView(conv.id, { myUserId: me.id, peerUserId: peer.id, peerName: peer.username }, (l) => this.print(l));
    this.view = view;

    const history = await client.listMessages(conv.id, { pageSize: historySize });
    const oldest = history.messages[0]?.seq;
    if (history.hasMore && oldest !== undefined) this.print(`… ${oldest - 1n} earlier message${oldest === 2n ? "" : "s"}`);
    for (const m of history.messages) view.show(m);
    const peerReceipt = conv.receipts.find((r) => r.userId === peer.id);
    if (peerReceipt) view.onReceipt(peerReceipt);

    client.on("message", (m) => this.onMessage(m));
    client.on("receipt", ({ conversationId, receipt }) => {
      if (conversationId === conv.id) view.onReceipt(receipt);
    });
    client.on("presence", (p) => view.onPresence(p));
    client.on("typing", (t) => view.onTyping(t));
    client.on("reset", (r) => void this.onReset(r));
    client.on("synced", () => this.onSynced());
    client.on("disconnected", ({ error }) => this.onDisconnected(error));
    client.on("frameError", (e) => this.onFrameError(e));

    const connected = await Promise.race([client.connect().then(() => true), this.done.promise.then(() => false)]);
    if (!connected) return;
    const presence = await client.getPresence([peer.id]).catch((err: unknown): Presence[] => {
      this.print(`! presence unavailable: ${describeError(err)}`);
      return [];
    });
    for (const p of presence) view.onPresence(p);
    this.print(`-- connected; chatting with ${peer.username}. /help for commands`);

    this.terminal.start({
      line: (text) => this.onLine(text),
      interrupt: () => this.done.resolve(),
      end: () => this.done.resolve(),
      keypress: () => this.onKeypress(),
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
    if (!this.view) return;
    await this.file.save(this.client.resumeState()).catch((err: unknown) => {
      this.io.stderr.write(`messenger: could not save resume state to ${this.file.path}: ${describeError(err)}\n`);
    });
  }

  private print(line: string): void {
    this.terminal.print(line);
  }

  private onLine(raw: string): void {
    if (this.closing || raw.trim() === "") return;
    if (raw.startsWith("//")) return this.send(raw.slice(1));
    if (!raw.startsWith("/")) return this.send(raw);
    const command = raw.trim().split(/\s+/)[0];
    switch (command) {
      case "/quit":
      case "/exit":
        return this.done.resolve();
      case "/help":
        return this.print(chatHelp);
      default:
        return this.print(`! unknown command ${command}; ${chatHelp}`);
    }
  }

  private send(text: string): void {
    const view = this.view;
    if (!view) return;
    if (this.typingSentAt > 0) {
      this.typingSentAt = 0;
      this.client.setTyping(view.conversationId, false);
    }
    // The message is printed when the client emits it, with its seq.
    const p: Promise<void> = this.client.send(view.conversationId, text).then(
      () => undefined,
      (err: unknown) => this.print(`! not sent (${describeError(err)}): ${text}`),
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Waits a little for sends still in flight, so `/quit` right after a line does not lose it. */
  private async drainSends(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, quitGraceMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
    clearTimeout(timer);
  }

  private onKeypress(): void {
    const view = this.view;
    if (!view || !this.client.isConnected || Date.now() - this.typingSentAt < typingRenewMs) return;
    this.typingSentAt = Date.now();
    this.client.setTyping(view.conversationId, true);
  }

  private onMessage(m: Message): void {
    const view = this.view;
    if (!view || m.conversationId !== view.conversationId) return;
    view.show(m);
    this.readTimer ??= setTimeout(() => {
      this.readTimer = undefined;
      this.flushRead();
    }, 50);
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, saveDelayMs);
  }

  /** Marks read what is on screen. Frames written while disconnected are lost, so synced resends. */
  private flushRead(): void {
    const view = this.view;
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
    const view = this.view;
    if (!view || r.conversationId !== view.conversationId) return;
    view.hold();
    let page: Message[] = [];
    try {
      page = (await this.client.listMessages(view.conversationId, { anchorSeq: r.lastSeq + 1n, pageSize: historySize })).messages;
    } catch (err) {
      this.print(`! could not reload the conversation: ${describeError(err)}`);
    }
    view.release(page);
    this.flushRead();
  }

  private onFrameError(e: FrameError): void {
    this.print(`! server rejected a ${e.frame || "frame"}: ${codeName(e.code)}: ${e.message}`);
  }

  private save(): void {
    void this.file.save(this.client.resumeState()).catch((err: unknown) => {
      this.print(`! could not save resume state: ${describeError(err)}`);
    });
  }
}
