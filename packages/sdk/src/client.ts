import { randomUUID } from "node:crypto";
import { EventEmitter, getEventListeners } from "node:events";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createWritableIterable, type WritableIterable } from "@connectrpc/connect/protocol";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { ContactsService } from "@messenger/proto/accounts/v1/contacts_service";
import { NotificationsService } from "@messenger/proto/accounts/v1/notifications_service";
import type { Tokens, User } from "@messenger/proto/accounts/v1/types";
import {
  MemberReceiptSchema,
  RetentionMode,
  type CiphertextSchema,
  type Conversation,
  type MediaRefSchema,
  type MemberReceipt,
  type MemberRole,
  type Message,
  type Presence,
  type ReceiptSummary,
  type RetentionSchema,
} from "@messenger/proto/chat/v1/types";
import {
  GatewayService,
  type ConversationReset,
  type ConversationUpdated,
  type FrameError,
  type SessionRequestSchema,
  type SessionResponse,
  type SyncComplete,
  type TypingEvent,
  type Welcome,
} from "@messenger/proto/gateway/v1/gateway_service";
import { GroupService, type Member } from "@messenger/proto/groups/v1/group_service";
import { RetryInfoSchema } from "@messenger/proto/google/rpc/error_details";
import { Direction, Folder, HistoryService } from "@messenger/proto/history/v1/history_service";
import { ConversationSettingsService } from "@messenger/proto/conversations/v1/conversation_settings_service";
import { MediaService } from "@messenger/proto/media/v1/media_service";
import { PresenceService } from "@messenger/proto/presence/v1/presence_service";
import { backoffDelay, resendDelay } from "./backoff.js";
import { ContactsApi } from "./contacts.js";
import { MediaApi, type OutgoingFile, type UploadProgress } from "./media.js";
import { NotificationsApi } from "./notifications.js";
import { ConversationOrder } from "./conversation-order.js";

/** Where a device left off; keep it across restarts to resume without a full reload. */
export interface ResumeState {
  /** Unused by the server (always 0 now); kept so saved states and older callers still work. */
  syncVersion: bigint;
  /** Per conversation, the highest seq handled: every seq up to it was emitted or is not visible to this user. */
  cursors: Map<string, bigint>;
  /**
   * Per conversation, the highest receipts version seen, so a resume replays only receipts
   * that moved since. Optional: a state saved before it existed resumes with none (every
   * receipt comes again, which is harmless). `resumeState()` always fills it.
   */
  receiptsVersions?: Map<string, bigint>;
}

/** A message body a client may send: the server writes system bodies itself. */
export type OutgoingBody =
  | { case: "text"; value: string }
  | { case: "media"; value: MessageInitShape<typeof MediaRefSchema> }
  | { case: "ciphertext"; value: MessageInitShape<typeof CiphertextSchema> };

/** Options of one send. */
export interface SendOptions {
  /** The idempotency key; a resend with the same key never makes a second message. Default: a fresh UUID. */
  clientMessageId?: string;
  /** The seq of the message this one answers; none by default. */
  replyToSeq?: bigint;
  /** When the user wrote it, for display (ordering is by seq). Default: the time of the call. */
  clientSentAt?: Date;
}

/** A conversation's aggregated receipts as last seen, with the receipts version they reflect (0 when unknown). */
export interface ReceiptSummaryUpdate {
  conversationId: string;
  summary: ReceiptSummary;
  receiptsVersion: bigint;
}

/** One page of the members of a group. */
export interface MembersPage {
  members: Member[];
  nextPageToken: string;
  memberCount: number;
}

/** One page of the members who read a message. */
export interface ReadByPage {
  /** Current members whose read watermark reached the seq, the sender excluded. */
  userIds: string[];
  /** How many current members read it, the sender excluded. */
  readCount: number;
  /** Current members besides the sender: "read by readCount of memberCount". */
  memberCount: number;
  nextPageToken: string;
}

/**
 * How long the server keeps a conversation's messages: for ever; until every recipient
 * device has them (store-and-forward); or `ttlSeconds` after each was sent (5 minutes to 90
 * days, else the call fails with INVALID_ARGUMENT).
 */
export type RetentionChoice = { mode: "permanent" } | { mode: "store_and_forward" } | { mode: "disappearing"; ttlSeconds: number };

/** A retention as the API names it, for setRetention, createGroup and openDirect alike. */
export function retentionToProto(r: RetentionChoice): MessageInitShape<typeof RetentionSchema> {
  switch (r.mode) {
    case "permanent":
      return { mode: RetentionMode.PERMANENT };
    case "store_and_forward":
      return { mode: RetentionMode.STORE_AND_FORWARD };
    case "disappearing":
      return { mode: RetentionMode.DISAPPEARING, ttlSeconds: r.ttlSeconds };
  }
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
  /**
   * Resend backoff: after a send is refused for an outage only the first pending send is
   * repeated, never sooner than the server's `retry_after_ms` and after at least half of an
   * exponential step that starts here (default 300 ms) and doubles up to `resendMaxMs`
   * (default 5000 ms), with jitter; once it is stored the rest follow, pipelined.
   */
  resendDelayMs?: number;
  /** The largest exponential step of the resend backoff (the server's hint may ask for more). */
  resendMaxMs?: number;
  /** A previously saved resume state. */
  resume?: ResumeState;
}

/** The events a MessengerClient emits. */
export interface MessengerEvents {
  /**
   * A message, in seq order per conversation, each once; the device's own sends and the
   * system messages of group changes included. Seqs this user may not see (outside their
   * membership of a group, or deleted below min_seq) are skipped, so seqs may jump.
   */
  message: [Message];
  /**
   * A member's watermarks moved. `receiptsVersion` is the conversation's receipts version
   * after the move; `summary`, when present, the aggregate over current members.
   */
  receipt: [{ conversationId: string; receipt: MemberReceipt; receiptsVersion: bigint; summary: ReceiptSummary | undefined }];
  /**
   * A conversation's aggregated receipts changed (from a receipt_summary event of a large
   * group, or the summary a receipt event carries); stale and unchanged ones are not emitted.
   */
  receiptSummary: [ReceiptSummaryUpdate];
  /**
   * A large group has news up to `lastSeq`; its messages are not pushed. If the conversation
   * is open (`openConversation`) the client pulls them and emits them as `message` events.
   */
  conversationUpdated: [ConversationUpdated];
  /** A user's presence changed, or (`hidden`) may no longer be seen by this user. */
  presence: [Presence];
  /** An upload of sendImage / sendFile moved on (bytes taken by the connection to the blob store). */
  uploadProgress: [UploadProgress];
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

/** What `footprint()` reports. */
export interface ClientFootprint {
  /** Sends waiting for their ack. */
  pendingSends: number;
  /** Messages held ahead of a gap, over all conversations. */
  heldMessages: number;
  /** Conversations with a cursor. */
  conversations: number;
  /** Listeners on the client's close signal (one per pending connect() or reconnect wait). */
  closeListeners: number;
  /** Ack, gap-fill, typing and resend timers running. */
  timers: number;
}

interface PendingSend {
  readonly conversationId: string;
  readonly body: OutgoingBody;
  readonly replyToSeq: bigint;
  readonly clientSentAt: Timestamp;
  /** Written on the current stream and not answered yet. */
  inFlight: boolean;
  /** Every caller that sent with this client message id while it was pending. */
  readonly waiters: { resolve(m: Message): void; reject(e: ConnectError): void }[];
}

type Frame = MessageInitShape<typeof SessionRequestSchema>;

const retryableSendCodes = new Set<number>([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Internal, Code.Unknown, Code.ResourceExhausted]);

/** The clients of one gateway address. */
interface Endpoint {
  readonly url: string;
  readonly sessionManager: Http2SessionManager;
  /** The Session stream's own connection, closed when the stream ends. */
  readonly streamSessions: Http2SessionManager;
  readonly accounts: Client<typeof AccountsService>;
  readonly contacts: Client<typeof ContactsService>;
  readonly notifications: Client<typeof NotificationsService>;
  readonly history: Client<typeof HistoryService>;
  readonly presence: Client<typeof PresenceService>;
  readonly groups: Client<typeof GroupService>;
  readonly media: Client<typeof MediaService>;
  readonly settings: Client<typeof ConversationSettingsService>;
  readonly gateway: Client<typeof GatewayService>;
}

function endpoint(url: string): Endpoint {
  const sessionManager = new Http2SessionManager(url);
  const transport = createGrpcTransport({ baseUrl: url, sessionManager });
  // Closed after each stream; connect-node re-arms an idle timer as the closed stream goes,
  // which would hold the dead connection for its default 15 minutes.
  const streamSessions = new Http2SessionManager(url, { idleConnectionTimeoutMs: 1_000 });
  return {
    url,
    sessionManager,
    streamSessions,
    accounts: createClient(AccountsService, transport),
    contacts: createClient(ContactsService, transport),
    notifications: createClient(NotificationsService, transport),
    history: createClient(HistoryService, transport),
    presence: createClient(PresenceService, transport),
    groups: createClient(GroupService, transport),
    media: createClient(MediaService, transport),
    settings: createClient(ConversationSettingsService, transport),
    gateway: createClient(GatewayService, createGrpcTransport({ baseUrl: url, sessionManager: streamSessions })),
  };
}

/** The delay a refusal's google.rpc.RetryInfo asks for, in milliseconds. */
function retryDelayOf(err: ConnectError): number | undefined {
  const delay = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return delay ? Number(delay.seconds) * 1000 + Math.floor(delay.nanos / 1_000_000) : undefined;
}

/** Forward pages read when pulling a conversation. */
const pullPageSize = 200;
/** A gap that history cannot close yet is retried with backoff up to this delay. */
const gapRetryMaxMs = 10_000;

/**
 * The client SDK: one long-lived stream per device with auto-reconnect (exponential backoff,
 * full jitter), resume from per-conversation cursors (with the receipts version seen), an
 * outbox that resends unacknowledged sends with their original client ids and in their
 * order, and gap detection by seq that fetches what is missing, taking history as the
 * authority on which seqs this user may see. Messages are emitted in order, each once.
 * Large groups are pulled on demand (`openConversation`); groups are managed through the
 * GroupService wrappers, whose system messages are emitted like any other message.
 */
export class MessengerClient extends EventEmitter<MessengerEvents> {
  /**
   * Counters for operators and benchmarks. `duplicatesReceived` counts messages the server
   * pushed on the stream that this device already had: the server promises zero.
   * `sendsWritten` counts send frames written (first sends and repeats).
   */
  readonly stats = { duplicatesReceived: 0, reconnects: 0, sendsWritten: 0 };
  /** Contacts, blocks and privacy settings of the signed-in user. */
  readonly contacts = new ContactsApi(
    () => this.endpoint().contacts,
    (call) => this.authed(call),
  );
  /** This device's push registration and the signed-in user's notification settings and mutes. */
  readonly notifications = new NotificationsApi(
    () => this.endpoint().notifications,
    (call) => this.authed(call),
  );
  /** Uploads and downloads of images and files (sendImage / sendFile upload through it). */
  readonly media = new MediaApi(
    () => this.endpoint().media,
    (call) => this.authed(call),
  );
  private readonly endpoints: Endpoint[];
  private current = 0;
  private tokens: Tokens | undefined;
  private me: User | undefined;
  private readonly orders = new Map<string, ConversationOrder>();
  private syncVersion: bigint;
  private readonly outbox = new Map<string, PendingSend>();
  private readonly receipts = new Map<string, Map<string, MemberReceipt>>();
  private readonly receiptsVersions = new Map<string, bigint>();
  private readonly summaries = new Map<string, { summary: ReceiptSummary; version: bigint }>();
  /** The newest seq known per conversation (conversation_updated, history, the inbox). */
  private readonly lastSeqs = new Map<string, bigint>();
  /** Conversations the app has open: a conversation_updated for one pulls it. */
  private readonly open = new Set<string>();
  /** The pull running per conversation, and those asked to pull again when it ends. */
  private readonly pulls = new Map<string, Promise<void>>();
  private readonly pullAgain = new Set<string>();
  /** Fill attempts per conversation that closed nothing, for the retry backoff. */
  private readonly gapAttempts = new Map<string, number>();
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
  /** When the resend timer fires (epoch ms). */
  private resendAt = 0;
  /** Refusals of the first pending send in a row (0: sends are healthy and pipelined). */
  private sendFailures = 0;
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
    for (const [c, v] of options.resume?.receiptsVersions ?? []) this.receiptsVersions.set(c, v);
  }

  /** AccountsService on the current gateway. */
  get accounts(): Client<typeof AccountsService> {
    return this.endpoint().accounts;
  }

  /** HistoryService on the current gateway. */
  get history(): Client<typeof HistoryService> {
    return this.endpoint().history;
  }

  /** GroupService on the current gateway. */
  get groupsApi(): Client<typeof GroupService> {
    return this.endpoint().groups;
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
    return { syncVersion: this.syncVersion, cursors, receiptsVersions: new Map(this.receiptsVersions) };
  }

  /** The highest seq of a conversation handled so far (emitted, or skipped as not visible). */
  cursorOf(conversationId: string): bigint | undefined {
    return this.orders.get(conversationId)?.cursor;
  }

  /** The newest seq known to exist in a conversation (signalled, read from history, or emitted). */
  lastSeqOf(conversationId: string): bigint | undefined {
    const known = this.lastSeqs.get(conversationId);
    const cursor = this.cursorOf(conversationId);
    if (known === undefined) return cursor;
    return cursor !== undefined && cursor > known ? cursor : known;
  }

  /** The highest receipts version seen for a conversation (0 when none). */
  receiptsVersionOf(conversationId: string): bigint {
    return this.receiptsVersions.get(conversationId) ?? 0n;
  }

  /**
   * The latest receipts seen per member of a conversation: from receipt events and the
   * conversations returned by the API (direct chats and small groups; large groups carry
   * only a summary). A member's entry goes when a system message says they left or were removed.
   */
  receiptsOf(conversationId: string): Map<string, MemberReceipt> {
    return this.receipts.get(conversationId) ?? new Map();
  }

  /**
   * How many members other than the sender have read the message at `seq`, from the
   * receipts seen (`receiptsOf`): exact for direct chats and small groups; for a large group
   * use `receiptSummaryOf` or `listReadBy`.
   */
  readCount(conversationId: string, seq: bigint, senderUserId: string): number {
    let n = 0;
    for (const r of this.receiptsOf(conversationId).values()) if (r.userId !== senderUserId && r.readSeq >= seq) n++;
    return n;
  }

  /** A conversation's aggregated receipts as last seen (events or the API's conversations). */
  receiptSummaryOf(conversationId: string): ReceiptSummary | undefined {
    return this.summaries.get(conversationId)?.summary;
  }

  /** The latest presence seen for a user. */
  presenceOf(userId: string): Presence | undefined {
    return this.presences.get(userId);
  }

  /** Sends waiting for their "sent" ack. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  /**
   * Sizes of what the client holds, for soak tests and operators. Each stays bounded however
   * long the client runs and however often it reconnects: pending sends are the app's own,
   * messages held ahead of a gap are at most 1000 per conversation, and every listener and
   * timer is removed when it is done.
   */
  footprint(): ClientFootprint {
    let heldMessages = 0;
    for (const o of this.orders.values()) heldMessages += o.held;
    return {
      pendingSends: this.outbox.size,
      heldMessages,
      conversations: this.orders.size,
      closeListeners: getEventListeners(this.closeController.signal, "abort").length,
      timers: this.ackTimers.size + this.gapTimers.size + this.typingTimers.size + (this.resendTimer ? 1 : 0),
    };
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

  /**
   * Logs this device out and closes the client: its refresh tokens stop working and the
   * server forgets the device (store-and-forward conversations stop keeping messages for it).
   */
  async logout(): Promise<void> {
    await this.authed((h) => this.accounts.logout({}, h));
    this.tokens = undefined;
    await this.close();
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

  /** Stores and sends a text message; resolves with it (seq included) once the server stored it. */
  send(conversationId: string, text: string, clientMessageId: string = randomUUID()): Promise<Message> {
    return this.sendMessage(conversationId, { case: "text", value: text }, { clientMessageId });
  }

  /**
   * Uploads an image (to the blob store, straight from this device), has the server check
   * it (type from the bytes, metadata stripped, thumbnail and preview made), then sends it
   * like `sendMessage`. Progress comes as `uploadProgress` events and to `onProgress`.
   * The message carries what the server found: a file that is not an image goes as a file.
   */
  async sendImage(conversationId: string, file: OutgoingFile, opts: SendOptions & { onProgress?: (p: UploadProgress) => void } = {}): Promise<Message> {
    return this.sendFile(conversationId, file, opts);
  }

  /** Uploads any file and sends it (see sendImage). */
  async sendFile(conversationId: string, file: OutgoingFile, opts: SendOptions & { onProgress?: (p: UploadProgress) => void } = {}): Promise<Message> {
    const { onProgress, ...send } = opts;
    const media = await this.media.upload(conversationId, file, (p) => {
      this.emit("uploadProgress", p);
      onProgress?.(p);
    });
    return this.sendMessage(conversationId, { case: "media", value: media }, send);
  }

  /**
   * Stores and sends a message of any body a client may send (text, a media reference from
   * the media service, or ciphertext), optionally as a reply. It goes through the same
   * outbox as `send`: kept until the server stored it, repeated with the same client id and
   * in the order of the calls after a failure or a reconnect. A second call with the id of a
   * send still pending waits for that one. Resolves with the stored message (seq included).
   */
  sendMessage(conversationId: string, body: OutgoingBody, opts: SendOptions = {}): Promise<Message> {
    if (this.closed) return Promise.reject(new ConnectError("client closed", Code.Canceled));
    const clientMessageId = opts.clientMessageId ?? randomUUID();
    const existing = this.outbox.get(clientMessageId);
    if (existing) return new Promise((resolve, reject) => existing.waiters.push({ resolve, reject }));
    return new Promise<Message>((resolve, reject) => {
      this.outbox.set(clientMessageId, {
        conversationId,
        body,
        replyToSeq: opts.replyToSeq ?? 0n,
        clientSentAt: timestampFromDate(opts.clientSentAt ?? new Date()),
        inFlight: false,
        waiters: [{ resolve, reject }],
      });
      this.flushOutbox();
    });
  }

  /**
   * Marks a conversation open: pulls from history (forward from the cursor, page by page)
   * everything up to the newest seq known and emits it as `message` events, in order, each
   * once; afterwards every conversation_updated for it, and every resume, pulls again
   * until `closeConversation`. This is how a large group, whose messages are not pushed, is
   * read; for any other conversation it only fetches what the device lacks. With no cursor
   * for the conversation yet, the pull starts after `opts.after` (e.g. the newest message
   * the app loaded itself) or else at the beginning of what the user may see. Resolves when
   * the pull is done; rejects if history fails (the conversation stays open).
   */
  async openConversation(conversationId: string, opts: { after?: bigint } = {}): Promise<void> {
    if (this.closed) throw new ConnectError("client closed", Code.Canceled);
    this.open.add(conversationId);
    const order = this.orderOf(conversationId);
    if (order.cursor === undefined && opts.after !== undefined) order.cursor = opts.after;
    await this.pull(conversationId);
  }

  /** Stops pulling a conversation on its conversation_updated signals. */
  closeConversation(conversationId: string): void {
    this.open.delete(conversationId);
  }

  /** True while the conversation is open (see `openConversation`). */
  isOpen(conversationId: string): boolean {
    return this.open.has(conversationId);
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

  /** The users with these ids; unknown ids are left out. */
  async getUsers(userIds: string[]): Promise<User[]> {
    if (userIds.length === 0) return [];
    return (await this.authed((h) => this.accounts.getUsers({ userIds }, h))).users;
  }

  /**
   * The direct conversation with a peer, created on first use. `retention` applies only when
   * this call creates it: an existing conversation keeps its own, which the returned
   * conversation shows (change it with setRetention).
   */
  async openDirect(peerUserId: string, opts: { retention?: RetentionChoice } = {}): Promise<Conversation> {
    const res = await this.authed((h) =>
      this.history.openDirectConversation({ peerUserId, ...(opts.retention ? { retention: retentionToProto(opts.retention) } : {}) }, h),
    );
    return this.noteConversation(res.conversation);
  }

  /** One page of the inbox, or of the message requests (direct conversations non-contacts opened). */
  async listConversations(
    pageSize = 50,
    pageToken = "",
    folder: "inbox" | "requests" = "inbox",
  ): Promise<{ conversations: Conversation[]; nextPageToken: string }> {
    const f = folder === "requests" ? Folder.REQUESTS : Folder.INBOX;
    const res = await this.authed((h) => this.history.listConversations({ pageSize, pageToken, folder: f }, h));
    for (const c of res.conversations) this.noteConversation(c);
    return res;
  }

  /** Moves a message request to the inbox. */
  async acceptMessageRequest(conversationId: string): Promise<Conversation> {
    const res = await this.authed((h) => this.history.acceptMessageRequest({ conversationId }, h));
    return this.noteConversation(res.conversation);
  }

  /** Takes a conversation out of the message requests (it comes back if the peer writes again; block them to stop that). */
  async deleteMessageRequest(conversationId: string): Promise<void> {
    await this.authed((h) => this.history.deleteMessageRequest({ conversationId }, h));
  }

  /**
   * Sets how long the server keeps the conversation's messages, for everyone in it (see
   * RetentionChoice). Any member of a direct conversation may; in a group, the owner and
   * admins. Resolves with the retention_changed system message, which every member's devices
   * also receive.
   */
  async setRetention(conversationId: string, retention: RetentionChoice): Promise<Message> {
    const res = await this.authed((h) => this.endpoint().settings.setRetention({ conversationId, retention: retentionToProto(retention) }, h));
    if (!res.event) throw new ConnectError("the server returned no event", Code.Internal);
    return res.event;
  }

  /** One of the user's conversations, direct or group (a former member's too). */
  async getConversation(conversationId: string): Promise<Conversation> {
    const res = await this.authed((h) => this.history.getConversation({ conversationId }, h));
    return this.noteConversation(res.conversation);
  }

  /**
   * One page of history, ascending by seq. A group member gets only the messages inside
   * their membership ranges; nothing below `minSeq` exists any more.
   */
  async listMessages(
    conversationId: string,
    opts: { anchorSeq?: bigint; direction?: "forward" | "backward"; pageSize?: number } = {},
  ): Promise<{ messages: Message[]; hasMore: boolean; lastSeq: bigint; minSeq: bigint }> {
    const res = await this.authed((h) =>
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
    this.noteLastSeq(conversationId, res.lastSeq);
    const order = this.orders.get(conversationId);
    if (order && res.minSeq > order.minSeq) this.emitReady(conversationId, order.setMinSeq(res.minSeq));
    return res;
  }

  /** One page of the current members who read the message at `seq` (the sender excluded), with the counts. */
  async listReadBy(conversationId: string, seq: bigint, pageSize = 100, pageToken = ""): Promise<ReadByPage> {
    const res = await this.authed((h) => this.history.listReadBy({ conversationId, seq, pageSize, pageToken }, h));
    return { userIds: res.userIds, readCount: res.readCount, memberCount: res.memberCount, nextPageToken: res.nextPageToken };
  }

  /**
   * Creates a group with this user as owner and the given users as members, permanent unless
   * `retention` says otherwise. Its first message (group_created, which carries the
   * retention) is emitted as a `message` event before this resolves.
   */
  async createGroup(title: string, memberUserIds: string[], description = "", opts: { retention?: RetentionChoice } = {}): Promise<Conversation> {
    const res = await this.authed((h) =>
      this.groupsApi.createGroup({ title, description, memberUserIds, ...(opts.retention ? { retention: retentionToProto(opts.retention) } : {}) }, h),
    );
    const conversation = this.noteConversation(res.conversation);
    if (res.event) this.onMessage(res.event);
    return conversation;
  }

  /** A group as this user sees it (members and former members). */
  async getGroup(conversationId: string): Promise<Conversation> {
    const res = await this.authed((h) => this.groupsApi.getGroup({ conversationId }, h));
    return this.noteConversation(res.conversation);
  }

  /**
   * Sets a group's title, and its description when given (left as it is otherwise: read
   * first with getGroup). Owner and admins. Resolves with the system message, also emitted.
   */
  async updateGroupInfo(conversationId: string, title: string, description?: string): Promise<Message> {
    const desc = description ?? (await this.getGroup(conversationId)).description;
    return this.systemMessage(await this.authed((h) => this.groupsApi.updateGroupInfo({ conversationId, title, description: desc }, h)));
  }

  /** Adds users to a group (owner and admins). Resolves with the system message, also emitted. */
  async addMembers(conversationId: string, userIds: string[]): Promise<Message> {
    return this.systemMessage(await this.authed((h) => this.groupsApi.addMembers({ conversationId, userIds }, h)));
  }

  /** Removes a member from a group (owner and admins). Resolves with the system message, also emitted. */
  async removeMember(conversationId: string, userId: string): Promise<Message> {
    return this.systemMessage(await this.authed((h) => this.groupsApi.removeMember({ conversationId, userId }, h)));
  }

  /**
   * Leaves a group (an owner transfers ownership first). Resolves with the system message,
   * the last one this user gets, also emitted; the conversation is closed.
   */
  async leaveGroup(conversationId: string): Promise<Message> {
    const event = this.systemMessage(await this.authed((h) => this.groupsApi.leaveGroup({ conversationId }, h)));
    this.closeConversation(conversationId);
    return event;
  }

  /** Makes a member an admin or a plain member (owner only). Resolves with the system message, also emitted. */
  async setMemberRole(conversationId: string, userId: string, role: MemberRole): Promise<Message> {
    return this.systemMessage(await this.authed((h) => this.groupsApi.setMemberRole({ conversationId, userId, role }, h)));
  }

  /** Hands the group to another member; this user becomes an admin. Resolves with the system message, also emitted. */
  async transferOwnership(conversationId: string, userId: string): Promise<Message> {
    return this.systemMessage(await this.authed((h) => this.groupsApi.transferOwnership({ conversationId, userId }, h)));
  }

  /** One page of a group's current members, ordered by user id, with their number. */
  async listMembers(conversationId: string, pageSize = 100, pageToken = ""): Promise<MembersPage> {
    const res = await this.authed((h) => this.groupsApi.listMembers({ conversationId, pageSize, pageToken }, h));
    return { members: res.members, nextPageToken: res.nextPageToken, memberCount: res.memberCount };
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
    this.open.clear();
    clearTimeout(this.resendTimer);
    for (const p of this.outbox.values()) for (const w of p.waiters) w.reject(new ConnectError("client closed", Code.Canceled));
    this.outbox.clear();
    await this.running?.catch(() => undefined);
    for (const e of this.endpoints) {
      e.sessionManager.abort();
      e.streamSessions.abort();
    }
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
      const ep = this.endpoint();
      try {
        this.write({ frame: { case: "hello", value: { accessToken: this.tokens?.accessToken ?? "", resume: this.helloResume() } } });
        for await (const res of ep.gateway.session(requests, { signal: abort.signal })) {
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
        // connect-node leaves a bidi stream's request side open when the server ends the
        // call first, so the connection would keep every ended stream (and what it holds)
        // for good: the stream has a connection of its own, closed with it.
        ep.streamSessions.abort();
      }
      if (this.closed) break;
      if (error?.code === Code.Unauthenticated && (await this.refreshTokens())) {
        this.emit("disconnected", { error: undefined });
        continue;
      }
      this.emit("disconnected", { error });
      if (error?.code === Code.Unauthenticated) break;
      this.rotate();
      const backoff = backoffDelay(attempt++, this.options.reconnectBaseMs ?? 250, this.options.reconnectMaxMs ?? 30_000);
      // A refusal with a RetryInfo (too many new sessions) says when to come back: not sooner.
      const hinted = error ? retryDelayOf(error) : undefined;
      await this.pause(retryAfter ?? (hinted !== undefined ? Math.max(hinted, backoff) : backoff));
    }
  }

  /** Waits `ms`, or until close(); leaves no listener behind either way. */
  private pause(ms: number): Promise<void> {
    const signal = this.closeController.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private helloResume(): { syncVersion: bigint; cursors: { conversationId: string; seq: bigint; receiptsVersion: bigint }[] } {
    const s = this.resumeState();
    return {
      syncVersion: s.syncVersion,
      cursors: [...s.cursors].map(([conversationId, seq]) => ({ conversationId, seq, receiptsVersion: this.receiptsVersionOf(conversationId) })),
    };
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
          if (pending) this.sendsHealthy();
        } else if (pending && !retryableSendCodes.has(r.errorCode)) {
          this.outbox.delete(r.clientMessageId);
          for (const w of pending.waiters) w.reject(new ConnectError(r.errorMessage, r.errorCode as Code));
          // Refused for what it was: the service answered, so the others may go.
          this.sendsHealthy();
        } else if (pending) {
          pending.inFlight = false;
          this.sendRefused(r.retryAfterMs);
        }
        return;
      }
      case "receipt": {
        const { conversationId, receipt, receiptsVersion, summary } = f.value;
        this.noteReceiptsVersion(conversationId, receiptsVersion);
        if (receipt) this.noteReceipt(conversationId, receipt);
        const summaryChanged = summary !== undefined && this.noteSummary(conversationId, summary, receiptsVersion);
        if (receipt) this.emit("receipt", { conversationId, receipt, receiptsVersion, summary });
        if (summaryChanged) this.emit("receiptSummary", { conversationId, summary, receiptsVersion });
        return;
      }
      case "receiptSummary": {
        const { conversationId, summary, receiptsVersion } = f.value;
        this.noteReceiptsVersion(conversationId, receiptsVersion);
        if (summary && this.noteSummary(conversationId, summary, receiptsVersion)) this.emit("receiptSummary", { conversationId, summary, receiptsVersion });
        return;
      }
      case "conversationUpdated": {
        const { conversationId, lastSeq } = f.value;
        this.noteLastSeq(conversationId, lastSeq);
        this.emit("conversationUpdated", f.value);
        if (this.open.has(conversationId) && (this.cursorOf(conversationId) ?? 0n) < lastSeq) this.pullInBackground(conversationId);
        return;
      }
      case "presence":
        if (f.value.presence) {
          // A hidden presence means this user may no longer see it: forget what was known.
          if (f.value.presence.hidden) this.presences.delete(f.value.presence.userId);
          else this.presences.set(f.value.presence.userId, f.value.presence);
          this.emit("presence", f.value.presence);
        }
        return;
      case "typing":
        return this.onTyping(f.value);
      case "syncComplete":
        this.syncVersion = f.value.syncVersion;
        this.emit("synced", f.value);
        // Large groups are not replayed: the open ones are pulled.
        for (const c of this.open) this.pullInBackground(c);
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
    this.emitReady(m.conversationId, this.orderOf(m.conversationId).accept(m));
  }

  /** Emits messages the order released, acks them, and has a gap they reveal filled. */
  private emitReady(conversationId: string, ready: readonly Message[]): void {
    for (const r of ready) {
      this.noteSystemEvent(r);
      this.emit("message", r);
    }
    if (ready.some((r) => r.senderUserId !== this.me?.id || r.senderDeviceId !== this.options.deviceId)) this.scheduleAck(conversationId);
    if (this.orders.get(conversationId)?.gap()) this.scheduleGapFill(conversationId);
  }

  /** A member who left or was removed no longer counts in readCount. */
  private noteSystemEvent(m: Message): void {
    if (m.body.case !== "system") return;
    const e = m.body.value.event;
    const gone = e.case === "memberRemoved" || e.case === "memberLeft" ? e.value.userId : undefined;
    if (gone !== undefined) this.receipts.get(m.conversationId)?.delete(gone);
  }

  /** Takes what a conversation says: its newest seq, min_seq, receipts and their summary. */
  private noteConversation(c: Conversation | undefined): Conversation {
    if (!c) throw new ConnectError("no conversation returned", Code.Internal);
    this.noteLastSeq(c.id, c.lastSeq);
    if (c.minSeq > 0n) this.emitReady(c.id, this.orderOf(c.id).setMinSeq(c.minSeq));
    for (const r of c.receipts) this.noteReceipt(c.id, r);
    // A snapshot carries no receipts version: it only fills in a summary not seen yet.
    if (c.receiptSummary && !this.summaries.has(c.id)) this.summaries.set(c.id, { summary: c.receiptSummary, version: 0n });
    return c;
  }

  /** A group change's system message: emitted like any message (each once), and returned. */
  private systemMessage(res: { event?: Message }): Message {
    if (!res.event) throw new ConnectError("no system message returned", Code.Internal);
    this.onMessage(res.event);
    return res.event;
  }

  private noteLastSeq(conversationId: string, seq: bigint): void {
    if (seq > (this.lastSeqs.get(conversationId) ?? 0n)) this.lastSeqs.set(conversationId, seq);
  }

  private noteReceiptsVersion(conversationId: string, version: bigint): void {
    if (version > this.receiptsVersionOf(conversationId)) this.receiptsVersions.set(conversationId, version);
  }

  /** Watermarks only rise: a receipt older than the one held does not lower it. */
  private noteReceipt(conversationId: string, r: MemberReceipt): void {
    let map = this.receipts.get(conversationId);
    if (!map) this.receipts.set(conversationId, (map = new Map()));
    const held = map.get(r.userId);
    if (!held || (r.deliveredSeq >= held.deliveredSeq && r.readSeq >= held.readSeq)) {
      map.set(r.userId, r);
      return;
    }
    const deliveredSeq = r.deliveredSeq > held.deliveredSeq ? r.deliveredSeq : held.deliveredSeq;
    const readSeq = r.readSeq > held.readSeq ? r.readSeq : held.readSeq;
    map.set(r.userId, create(MemberReceiptSchema, { userId: r.userId, deliveredSeq, readSeq }));
  }

  /** Keeps the summary unless it is older than the one held or the same; true when it changed. */
  private noteSummary(conversationId: string, summary: ReceiptSummary, version: bigint): boolean {
    const held = this.summaries.get(conversationId);
    if (held && version !== 0n && held.version > version) return false;
    if (
      held &&
      held.summary.memberCount === summary.memberCount &&
      held.summary.deliveredAllSeq === summary.deliveredAllSeq &&
      held.summary.readAllSeq === summary.readAllSeq
    ) {
      if (version > held.version) held.version = version;
      return false;
    }
    this.summaries.set(conversationId, { summary, version });
    return true;
  }

  /**
   * Writes the pending sends not on the wire yet, in the order they were made: all of them
   * while sends are healthy (pipelined); while they are refused for an outage, only the first
   * one, once its backoff has run out, so an outage costs one frame per backoff step rather
   * than one per pending send. The gateway takes a device's sends only in order after a
   * failure, so they are always repeated so.
   */
  private flushOutbox(): void {
    if (!this.welcome) return;
    if (this.sendFailures > 0) {
      if (this.resendTimer) return;
      const first = this.outbox.entries().next();
      if (!first.done && !first.value[1].inFlight) this.writeSend(first.value[0], first.value[1]);
      return;
    }
    for (const [clientMessageId, p] of this.outbox) if (!p.inFlight) this.writeSend(clientMessageId, p);
  }

  private writeSend(clientMessageId: string, p: PendingSend): void {
    p.inFlight = true;
    this.stats.sendsWritten++;
    this.write({
      frame: {
        case: "send",
        value: { clientMessageId, conversationId: p.conversationId, body: p.body, replyToSeq: p.replyToSeq, clientSentAt: p.clientSentAt },
      },
    });
  }

  /**
   * A send was refused for an outage (or is waiting behind one that was). One backoff step per
   * refusal of the first pending send: the sends pipelined behind it are refused with it and
   * do not count again. The resend never comes sooner than any hint the server gave.
   */
  private sendRefused(hintMs: number): void {
    const now = Date.now();
    if (this.resendTimer && now + hintMs <= this.resendAt) return;
    if (!this.resendTimer) this.sendFailures++;
    const wait = resendDelay(this.sendFailures - 1, hintMs, this.options.resendDelayMs ?? 300, this.options.resendMaxMs ?? 5_000);
    clearTimeout(this.resendTimer);
    this.resendAt = now + wait;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined;
      this.flushOutbox();
    }, wait);
    this.resendTimer.unref();
  }

  /** A send went through (or was refused for what it was): the rest follow, pipelined. */
  private sendsHealthy(): void {
    if (this.sendFailures === 0) return;
    this.sendFailures = 0;
    clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
    this.flushOutbox();
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

  /** A gap first waits gapWaitMs (the stream may still bring it); fills that close nothing back off. */
  private scheduleGapFill(conversationId: string): void {
    if (this.gapTimers.has(conversationId) || this.closed) return;
    const base = this.options.gapWaitMs ?? 300;
    const attempts = this.gapAttempts.get(conversationId) ?? 0;
    const t = setTimeout(() => {
      this.gapTimers.delete(conversationId);
      void this.fillGap(conversationId);
    }, Math.min(gapRetryMaxMs, base * 2 ** Math.min(attempts, 10)));
    this.gapTimers.set(conversationId, t);
  }

  /**
   * Reads the gap forward from history, which is authoritative: seqs it leaves out are not
   * visible to this user (outside their membership ranges) and are skipped, not chased.
   */
  private async fillGap(conversationId: string): Promise<void> {
    const order = this.orders.get(conversationId);
    const gap = order?.gap();
    if (!order || !gap || this.closed) return;
    const anchor = gap.from - 1n;
    try {
      const page = await this.listMessages(conversationId, { anchorSeq: anchor, direction: "forward", pageSize: Math.min(500, Number(gap.to - gap.from + 1n)) });
      this.emitReady(conversationId, order.acceptHistory(anchor, page, gap.to));
    } catch {
      // Retried below with backoff; the next message or the next resume also tries again.
    }
    const after = order.gap();
    if (!after) {
      this.gapAttempts.delete(conversationId);
      return;
    }
    if (after.from === gap.from) this.gapAttempts.set(conversationId, (this.gapAttempts.get(conversationId) ?? 0) + 1);
    else this.gapAttempts.delete(conversationId);
    this.scheduleGapFill(conversationId);
  }

  private pullInBackground(conversationId: string): void {
    // A failed pull is retried by the next conversation_updated or resume.
    this.pull(conversationId).catch(() => undefined);
  }

  /** One pull per conversation at a time; a pull asked for while one runs runs again after it. */
  private pull(conversationId: string): Promise<void> {
    const running = this.pulls.get(conversationId);
    if (running) {
      this.pullAgain.add(conversationId);
      return running;
    }
    const p = (async () => {
      do {
        this.pullAgain.delete(conversationId);
        await this.pullOnce(conversationId);
      } while (this.pullAgain.has(conversationId) && !this.closed);
    })().finally(() => {
      this.pulls.delete(conversationId);
      this.pullAgain.delete(conversationId);
    });
    this.pulls.set(conversationId, p);
    return p;
  }

  /** Pages forward from the cursor until history has nothing more (or stops moving). */
  private async pullOnce(conversationId: string): Promise<void> {
    const order = this.orderOf(conversationId);
    while (!this.closed) {
      const anchor = order.cursor ?? 0n;
      const page = await this.listMessages(conversationId, { anchorSeq: anchor, direction: "forward", pageSize: pullPageSize });
      const through = this.lastSeqs.get(conversationId) ?? page.lastSeq;
      this.emitReady(conversationId, order.acceptHistory(anchor, page, through > page.lastSeq ? through : page.lastSeq));
      if (!page.hasMore || (order.cursor ?? 0n) <= anchor) return;
    }
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
