import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createWritableIterable, type WritableIterable } from "@connectrpc/connect/protocol";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import type { Tokens, User } from "@messenger/proto/accounts/v1/types";
import type { Conversation, MemberReceipt, Message, Presence } from "@messenger/proto/chat/v1/types";
import {
  GatewayService,
  type ConversationReset,
  type FrameError,
  type SessionRequestSchema,
  type SessionResponse,
  type SyncComplete,
  type TypingEvent,
  type Welcome,
} from "@messenger/proto/gateway/v1/gateway_service";
import { Direction, HistoryService } from "@messenger/proto/history/v1/history_service";
import { PresenceService } from "@messenger/proto/presence/v1/presence_service";
import { backoffDelay } from "./backoff.js";
import { ConversationOrder } from "./conversation-order.js";

/** Where a device left off; keep it across restarts to resume without a full reload. */
export interface ResumeState {
  syncVersion: bigint;
  cursors: Map<string, bigint>;
}

/** Options of a MessengerClient. */
export interface MessengerClientOptions {
  /**
   * The gateway's gRPC address, e.g. http://127.0.0.1:50051, or several: the client moves to
   * the next one whenever it has to reconnect (after a go-away, a crash or a refused dial).
   */
  url: string | readonly string[];
  /** This device's stable id. */
  deviceId: string;
  /** Reconnect backoff: the first delay's ceiling and the largest. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** Delivered acks are coalesced per conversation over this window. */
  ackDelayMs?: number;
  /** How long a gap may stand before the missing messages are fetched. */
  gapWaitMs?: number;
  /** Wait before repeating sends that failed with a retryable code. */
  resendDelayMs?: number;
  /** A previously saved resume state. */
  resume?: ResumeState;
}

/** The events a MessengerClient emits. */
export interface MessengerEvents {
  /** A message, in seq order per conversation, each once; the device's own sends included. */
  message: [Message];
  receipt: [{ conversationId: string; receipt: MemberReceipt }];
  presence: [Presence];
  /** Typing started, or stopped (explicitly or because the indicator lapsed). */
  typing: [TypingEvent];
  connected: [Welcome];
  /** The resume replay finished: everything missed has been emitted (or reset). */
  synced: [SyncComplete];
  /** The device missed too much of a conversation: reload it with listMessages. */
  reset: [ConversationReset];
  disconnected: [{ error: ConnectError | undefined }];
  frameError: [FrameError];
}

interface PendingSend {
  readonly conversationId: string;
  readonly text: string;
  /** Written on the current stream and not answered yet. */
  inFlight: boolean;
  /** Every caller that sent with this client message id while it was pending. */
  readonly waiters: { resolve(m: Message): void; reject(e: ConnectError): void }[];
}

type Frame = MessageInitShape<typeof SessionRequestSchema>;

const retryableSendCodes = new Set<number>([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Internal, Code.Unknown, Code.ResourceExhausted]);

/**
 * The client SDK: one long-lived stream per device with auto-reconnect (exponential backoff,
 * full jitter), resume from per-conversation cursors, an outbox that resends unacknowledged
 * sends with their original client ids, and gap detection by seq that fetches what is
 * missing. Messages are emitted in order, each once.
 */
interface Endpoint {
  readonly url: string;
  readonly sessionManager: Http2SessionManager;
  readonly accounts: Client<typeof AccountsService>;
  readonly history: Client<typeof HistoryService>;
  readonly presence: Client<typeof PresenceService>;
  readonly gateway: Client<typeof GatewayService>;
}

function endpoint(url: string): Endpoint {
  const sessionManager = new Http2SessionManager(url);
  const transport = createGrpcTransport({ baseUrl: url, sessionManager });
  return {
    url,
    sessionManager,
    accounts: createClient(AccountsService, transport),
    history: createClient(HistoryService, transport),
    presence: createClient(PresenceService, transport),
    gateway: createClient(GatewayService, transport),
  };
}

export class MessengerClient extends EventEmitter<MessengerEvents> {
  /**
   * Counters for operators and benchmarks. `duplicatesReceived` counts messages the server
   * pushed on the stream that this device already had: the server promises zero.
   */
  readonly stats = { duplicatesReceived: 0, reconnects: 0 };
  private readonly endpoints: Endpoint[];
  private current = 0;
  private tokens: Tokens | undefined;
  private me: User | undefined;
  private readonly orders = new Map<string, ConversationOrder>();
  private syncVersion: bigint;
  private readonly outbox = new Map<string, PendingSend>();
  private readonly receipts = new Map<string, Map<string, MemberReceipt>>();
  private readonly presences = new Map<string, Presence>();
  private readonly ackTimers = new Map<string, NodeJS.Timeout>();
  private readonly gapTimers = new Map<string, NodeJS.Timeout>();
  private readonly typingTimers = new Map<string, NodeJS.Timeout>();
  private outbound: WritableIterable<Frame> | undefined;
  private streamAbort: AbortController | undefined;
  private welcome: Welcome | undefined;
  private running: Promise<void> | undefined;
  private refreshing: Promise<boolean> | undefined;
  private resendTimer: NodeJS.Timeout | undefined;
  private welcomedBefore = false;
  /** Read marks made while disconnected, by conversation. */
  private readonly pendingReads = new Map<string, bigint>();
  private closed = false;
  private readonly closeController = new AbortController();

  constructor(readonly options: MessengerClientOptions) {
    super();
    const urls = typeof options.url === "string" ? [options.url] : [...options.url];
    if (urls.length === 0) throw new ConnectError("at least one url is required", Code.InvalidArgument);
    this.endpoints = urls.map(endpoint);
    this.syncVersion = options.resume?.syncVersion ?? 0n;
    for (const [c, s] of options.resume?.cursors ?? []) this.orders.set(c, new ConversationOrder(s));
  }

  /** AccountsService on the current gateway. */
  get accounts(): Client<typeof AccountsService> {
    return this.endpoint().accounts;
  }

  /** HistoryService on the current gateway. */
  get history(): Client<typeof HistoryService> {
    return this.endpoint().history;
  }

  /** PresenceService on the current gateway. */
  get presenceApi(): Client<typeof PresenceService> {
    return this.endpoint().presence;
  }

  /** The address the client uses now. */
  get currentUrl(): string {
    return this.endpoint().url;
  }

  private endpoint(): Endpoint {
    return this.endpoints[this.current % this.endpoints.length]!;
  }

  /** Moves to the next address, for the next dial or call. */
  private rotate(): void {
    this.current = (this.current + 1) % this.endpoints.length;
  }

  /** The logged-in user. */
  get user(): User | undefined {
    return this.me;
  }

  /** True between a welcome and the end of that stream. */
  get isConnected(): boolean {
    return this.welcome !== undefined;
  }

  /** The state to pass as `resume` next time. */
  resumeState(): ResumeState {
    const cursors = new Map<string, bigint>();
    for (const [c, o] of this.orders) if (o.cursor !== undefined) cursors.set(c, o.cursor);
    return { syncVersion: this.syncVersion, cursors };
  }

  /** The highest seq of a conversation emitted so far. */
  cursorOf(conversationId: string): bigint | undefined {
    return this.orders.get(conversationId)?.cursor;
  }

  /** The latest receipts seen per member of a conversation. */
  receiptsOf(conversationId: string): Map<string, MemberReceipt> {
    return this.receipts.get(conversationId) ?? new Map();
  }

  /** The latest presence seen for a user. */
  presenceOf(userId: string): Presence | undefined {
    return this.presences.get(userId);
  }

  /** Sends waiting for their "sent" ack. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  async register(username: string, password: string, displayName = ""): Promise<User> {
    const res = await this.accounts.register({ username, password, displayName });
    if (!res.user) throw new ConnectError("register returned no user", Code.Internal);
    return res.user;
  }

  async login(username: string, password: string): Promise<User> {
    const res = await this.accounts.login({ username, password, deviceId: this.options.deviceId });
    if (!res.user || !res.tokens) throw new ConnectError("login returned no tokens", Code.Internal);
    this.me = res.user;
    this.tokens = res.tokens;
    return res.user;
  }

  /** Opens the stream (and keeps reopening it) until close(); resolves after the first sync. */
  connect(): Promise<SyncComplete> {
    if (!this.tokens) return Promise.reject(new ConnectError("log in first", Code.FailedPrecondition));
    if (this.closed) return Promise.reject(new ConnectError("client closed", Code.Canceled));
    const synced = new Promise<SyncComplete>((resolve, reject) => {
      const done = (): void => {
        this.off("synced", onSynced);
        this.off("disconnected", onDown);
        this.closeController.signal.removeEventListener("abort", onClose);
      };
      const onSynced = (s: SyncComplete): void => {
        done();
        resolve(s);
      };
      const onDown = ({ error }: { error: ConnectError | undefined }): void => {
        if (error?.code !== Code.Unauthenticated) return;
        done();
        reject(error);
      };
      const onClose = (): void => {
        done();
        reject(new ConnectError("client closed", Code.Canceled));
      };
      this.on("synced", onSynced);
      this.on("disconnected", onDown);
      this.closeController.signal.addEventListener("abort", onClose);
    });
    this.running ??= this.run();
    return synced;
  }

  /** Stores and sends a message; resolves with it (seq included) once the server stored it. */
  send(conversationId: string, text: string, clientMessageId: string = randomUUID()): Promise<Message> {
    if (this.closed) return Promise.reject(new ConnectError("client closed", Code.Canceled));
    const existing = this.outbox.get(clientMessageId);
    if (existing) return new Promise((resolve, reject) => existing.waiters.push({ resolve, reject }));
    return new Promise<Message>((resolve, reject) => {
      this.outbox.set(clientMessageId, { conversationId, text, inFlight: false, waiters: [{ resolve, reject }] });
      this.flushOutbox();
    });
  }

  /** Marks a conversation read up to seq; made while disconnected, it is sent on the next connect. */
  markRead(conversationId: string, seq: bigint): void {
    if (seq <= (this.pendingReads.get(conversationId) ?? 0n) && !this.welcome) return;
    if (this.welcome) this.write({ frame: { case: "read", value: { conversationId, seq } } });
    else this.pendingReads.set(conversationId, seq);
  }

  setTyping(conversationId: string, typing: boolean): void {
    this.write({ frame: { case: "typing", value: { conversationId, typing } } });
  }

  async lookupUser(username: string): Promise<User> {
    const res = await this.authed((h) => this.accounts.lookupUser({ username }, h));
    if (!res.user) throw new ConnectError(`user ${username} not found`, Code.NotFound);
    return res.user;
  }

  async openDirect(peerUserId: string): Promise<Conversation> {
    const res = await this.authed((h) => this.history.openDirectConversation({ peerUserId }, h));
    if (!res.conversation) throw new ConnectError("no conversation returned", Code.Internal);
    return res.conversation;
  }

  async listConversations(pageSize = 50, pageToken = ""): Promise<{ conversations: Conversation[]; nextPageToken: string }> {
    return this.authed((h) => this.history.listConversations({ pageSize, pageToken }, h));
  }

  /** One page of history, ascending by seq. */
  async listMessages(
    conversationId: string,
    opts: { anchorSeq?: bigint; direction?: "forward" | "backward"; pageSize?: number } = {},
  ): Promise<{ messages: Message[]; hasMore: boolean; lastSeq: bigint }> {
    return this.authed((h) =>
      this.history.listMessages(
        {
          conversationId,
          anchorSeq: opts.anchorSeq ?? 0n,
          direction: opts.direction === "forward" ? Direction.FORWARD : Direction.BACKWARD,
          pageSize: opts.pageSize ?? 50,
        },
        h,
      ),
    );
  }

  async getPresence(userIds: string[]): Promise<Presence[]> {
    return (await this.authed((h) => this.presenceApi.getPresence({ userIds }, h))).presences;
  }

  /** Ends the stream, stops reconnecting and fails pending sends with CANCELED. */
  async close(): Promise<void> {
    this.closed = true;
    this.closeController.abort();
    this.streamAbort?.abort();
    for (const t of [...this.ackTimers.values(), ...this.gapTimers.values(), ...this.typingTimers.values()]) clearTimeout(t);
    clearTimeout(this.resendTimer);
    for (const p of this.outbox.values()) for (const w of p.waiters) w.reject(new ConnectError("client closed", Code.Canceled));
    this.outbox.clear();
    await this.running?.catch(() => undefined);
    for (const e of this.endpoints) e.sessionManager.abort();
  }

  /**
   * Makes an authenticated call; on UNAUTHENTICATED it refreshes the tokens once, on
   * UNAVAILABLE it tries each other address once.
   */
  private async authed<T>(call: (opts: { headers: Record<string, string> }) => Promise<T>): Promise<T> {
    const headers = (): { headers: Record<string, string> } => ({ headers: { authorization: `Bearer ${this.tokens?.accessToken ?? ""}` } });
    let refreshed = false;
    let tries = 0;
    for (;;) {
      try {
        return await call(headers());
      } catch (err) {
        const code = ConnectError.from(err).code;
        if (code === Code.Unauthenticated && !refreshed && (await this.refreshTokens())) {
          refreshed = true;
        } else if (code === Code.Unavailable && ++tries < this.endpoints.length) {
          this.rotate();
        } else {
          throw err;
        }
      }
    }
  }

  /** One refresh at a time: a refresh token works once, so concurrent callers share it. */
  private refreshTokens(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    if (!this.tokens?.refreshToken) return false;
    try {
      const res = await this.accounts.refresh({ refreshToken: this.tokens.refreshToken });
      if (!res.tokens) return false;
      this.tokens = res.tokens;
      return true;
    } catch {
      return false;
    }
  }

  private write(frame: Frame): void {
    this.outbound?.write(frame).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      const requests = createWritableIterable<Frame>();
      const abort = new AbortController();
      this.outbound = requests;
      this.streamAbort = abort;
      let retryAfter: number | undefined;
      let error: ConnectError | undefined;
      let pinger: NodeJS.Timeout | undefined;
      try {
        this.write({ frame: { case: "hello", value: { accessToken: this.tokens?.accessToken ?? "", resume: this.helloResume() } } });
        for await (const res of this.endpoint().gateway.session(requests, { signal: abort.signal })) {
          if (res.frame.case === "welcome") {
            if (this.welcomedBefore) this.stats.reconnects++;
            this.welcomedBefore = true;
            attempt = 0;
            this.welcome = res.frame.value;
            const every = Math.max(100, this.welcome.heartbeatIntervalMs);
            let nonce = 0n;
            pinger = setInterval(() => this.write({ frame: { case: "ping", value: { nonce: nonce++ } } }), every);
            this.emit("connected", res.frame.value);
            for (const p of this.outbox.values()) p.inFlight = false;
            this.flushOutbox();
            for (const [conversationId, seq] of this.pendingReads) this.write({ frame: { case: "read", value: { conversationId, seq } } });
            this.pendingReads.clear();
          } else if (res.frame.case === "goAway") {
            retryAfter = res.frame.value.reconnectAfterMs;
          } else {
            this.onFrame(res);
          }
        }
      } catch (err) {
        error = ConnectError.from(err);
      } finally {
        clearInterval(pinger);
        this.welcome = undefined;
        this.outbound = undefined;
        requests.close();
      }
      if (this.closed) break;
      if (error?.code === Code.Unauthenticated && (await this.refreshTokens())) {
        this.emit("disconnected", { error: undefined });
        continue;
      }
      this.emit("disconnected", { error });
      if (error?.code === Code.Unauthenticated) break;
      this.rotate();
      const delay = retryAfter ?? backoffDelay(attempt++, this.options.reconnectBaseMs ?? 250, this.options.reconnectMaxMs ?? 30_000);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.closeController.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  }

  private helloResume(): { syncVersion: bigint; cursors: { conversationId: string; seq: bigint }[] } {
    const s = this.resumeState();
    return { syncVersion: s.syncVersion, cursors: [...s.cursors].map(([conversationId, seq]) => ({ conversationId, seq })) };
  }

  private onFrame(res: SessionResponse): void {
    const f = res.frame;
    switch (f.case) {
      case "message":
        if (this.orders.get(f.value.conversationId)?.has(f.value.seq)) this.stats.duplicatesReceived++;
        return this.onMessage(f.value);
      case "sendResult": {
        const r = f.value;
        const pending = this.outbox.get(r.clientMessageId);
        if (r.errorCode === 0 && r.message) {
          this.outbox.delete(r.clientMessageId);
          this.onMessage(r.message);
          for (const w of pending?.waiters ?? []) w.resolve(r.message);
        } else if (pending && !retryableSendCodes.has(r.errorCode)) {
          this.outbox.delete(r.clientMessageId);
          for (const w of pending.waiters) w.reject(new ConnectError(r.errorMessage, r.errorCode as Code));
        } else if (pending) {
          pending.inFlight = false;
          this.scheduleResend();
        }
        return;
      }
      case "receipt": {
        const { conversationId, receipt } = f.value;
        if (!receipt) return;
        let map = this.receipts.get(conversationId);
        if (!map) this.receipts.set(conversationId, (map = new Map()));
        map.set(receipt.userId, receipt);
        this.emit("receipt", { conversationId, receipt });
        return;
      }
      case "presence":
        if (f.value.presence) {
          this.presences.set(f.value.presence.userId, f.value.presence);
          this.emit("presence", f.value.presence);
        }
        return;
      case "typing":
        return this.onTyping(f.value);
      case "syncComplete":
        this.syncVersion = f.value.syncVersion;
        this.emit("synced", f.value);
        return;
      case "reset":
        this.orderOf(f.value.conversationId).resetTo(f.value.lastSeq);
        this.emit("reset", f.value);
        return;
      case "error":
        this.emit("frameError", f.value);
        return;
      default:
        return;
    }
  }

  private orderOf(conversationId: string): ConversationOrder {
    let o = this.orders.get(conversationId);
    if (!o) this.orders.set(conversationId, (o = new ConversationOrder(undefined)));
    return o;
  }

  private onMessage(m: Message): void {
    const order = this.orderOf(m.conversationId);
    const ready = order.accept(m);
    for (const r of ready) this.emit("message", r);
    if (ready.some((r) => r.senderUserId !== this.me?.id || r.senderDeviceId !== this.options.deviceId)) this.scheduleAck(m.conversationId);
    if (order.gap()) this.scheduleGapFill(m.conversationId);
  }

  /**
   * Writes every pending send not on the wire yet, in the order they were made: the gateway
   * takes a device's sends only in order after a failure, so they are always repeated so.
   */
  private flushOutbox(): void {
    if (!this.welcome) return;
    for (const [clientMessageId, p] of this.outbox) {
      if (p.inFlight) continue;
      p.inFlight = true;
      this.write({ frame: { case: "send", value: { clientMessageId, conversationId: p.conversationId, text: p.text } } });
    }
  }

  private scheduleResend(): void {
    if (this.resendTimer) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined;
      this.flushOutbox();
    }, this.options.resendDelayMs ?? 300);
    this.resendTimer.unref();
  }

  private scheduleAck(conversationId: string): void {
    if (this.ackTimers.has(conversationId)) return;
    const t = setTimeout(() => {
      this.ackTimers.delete(conversationId);
      const seq = this.orders.get(conversationId)?.cursor;
      if (seq !== undefined) this.write({ frame: { case: "ack", value: { conversationId, seq } } });
    }, this.options.ackDelayMs ?? 20);
    this.ackTimers.set(conversationId, t);
  }

  private scheduleGapFill(conversationId: string): void {
    if (this.gapTimers.has(conversationId)) return;
    const t = setTimeout(() => {
      this.gapTimers.delete(conversationId);
      void this.fillGap(conversationId);
    }, this.options.gapWaitMs ?? 300);
    this.gapTimers.set(conversationId, t);
  }

  private async fillGap(conversationId: string): Promise<void> {
    const gap = this.orders.get(conversationId)?.gap();
    if (!gap || this.closed) return;
    try {
      const page = await this.listMessages(conversationId, { anchorSeq: gap.from - 1n, direction: "forward", pageSize: Math.min(500, Number(gap.to - gap.from + 1n)) });
      for (const m of page.messages) this.onMessage(m);
    } catch {
      // The next message or the next resume will try again.
    }
    if (this.orders.get(conversationId)?.gap()) this.scheduleGapFill(conversationId);
  }

  private onTyping(t: TypingEvent): void {
    const key = `${t.conversationId}\u0000${t.userId}`;
    clearTimeout(this.typingTimers.get(key));
    this.typingTimers.delete(key);
    this.emit("typing", t);
    if (t.typing) {
      this.typingTimers.set(
        key,
        setTimeout(() => {
          this.typingTimers.delete(key);
          this.emit("typing", { ...t, typing: false, expiresInMs: 0 });
        }, t.expiresInMs),
      );
    }
  }
}
