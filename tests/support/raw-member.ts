import type { Message } from "@messenger/proto/chat/v1/types";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SendResult, SessionRequestSchema, SessionResponse } from "@messenger/proto/gateway/v1/gateway_service";
import { openRawSession, type RawSession } from "./raw-session.js";

/** What a member's device got of one conversation, over all its streams. */
export interface ConversationLedger {
  /** Message frames in arrival order (seqs). */
  readonly seqs: bigint[];
  readonly messages: Message[];
  /** Frames whose seq was not above the previous one of the same stream. */
  outOfOrder: number;
}

/**
 * One device on raw gRPC streams, without the SDK (which reorders and fills gaps, and so
 * would hide a server that delivers out of order, twice, or not at all). It pings, records
 * every message frame per conversation, and reconnects with exact resume cursors: the
 * highest seq it got of each conversation.
 */
export class RawMember {
  readonly ledgers = new Map<string, ConversationLedger>();
  readonly frames: SessionResponse[] = [];
  private session: RawSession | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private lastSeqOfStream = new Map<string, bigint>();

  constructor(
    readonly userId: string,
    private readonly token: () => Promise<string>,
    private readonly pingEveryMs = 200,
  ) {}

  get connected(): boolean {
    return this.session !== undefined;
  }

  /** Opens a stream to the gateway on `port`, resuming from what it has; resolves after sync_complete. */
  async connect(port: number): Promise<void> {
    const s = openRawSession(port);
    this.session = s;
    this.lastSeqOfStream = new Map();
    const cursors = [...this.ledgers].map(([conversationId, l]) => ({ conversationId, seq: l.seqs.length > 0 ? l.seqs.reduce((a, b) => (a > b ? a : b)) : 0n }));
    s.send({ frame: { case: "hello", value: { accessToken: await this.token(), resume: { cursors } } } });
    let seen = 0;
    s.call.on("data", () => {
      for (; seen < s.frames.length; seen++) this.take(s.frames[seen]!);
    });
    void s.status.then(() => {
      if (this.session === s) this.disconnected();
    });
    this.pinger = setInterval(() => s.send({ frame: { case: "ping", value: { nonce: 1n } } }), this.pingEveryMs);
    await s.next((f) => f.frame.case === "syncComplete", 15_000);
  }

  /** Writes a frame on the current stream. */
  send(frame: MessageInitShape<typeof SessionRequestSchema>): void {
    if (!this.session) throw new Error("not connected");
    this.session.send(frame);
  }

  /** Writes a frame and resolves with the first later frame that matches. */
  request(frame: MessageInitShape<typeof SessionRequestSchema>, match: (f: SessionResponse) => boolean, timeoutMs = 10_000): Promise<SessionResponse> {
    if (!this.session) throw new Error("not connected");
    const s = this.session;
    const from = s.frames.length;
    s.send(frame);
    let i = 0;
    return s.next((f) => {
      const at = i++;
      return at >= from && match(f);
    }, timeoutMs);
  }

  /** Sends a text and resolves with its send_result (stored or refused: see error_code). */
  async sendText(conversationId: string, text: string): Promise<SendResult> {
    const clientMessageId = `${text}-${Math.random()}`;
    const r = await this.request({ frame: { case: "send", value: { conversationId, clientMessageId, body: { case: "text", value: text } } } }, (f) =>
      f.frame.case === "sendResult" && f.frame.value.clientMessageId === clientMessageId,
    );
    if (r.frame.case !== "sendResult") throw new Error("not a send_result");
    return r.frame.value;
  }

  /** Resolves when the current stream has ended. */
  async ended(): Promise<void> {
    await this.session?.status;
  }

  close(): void {
    this.session?.close();
    this.disconnected();
  }

  /** The ledger of a conversation (empty if nothing came). */
  ledger(conversationId: string): ConversationLedger {
    let l = this.ledgers.get(conversationId);
    if (!l) this.ledgers.set(conversationId, (l = { seqs: [], messages: [], outOfOrder: 0 }));
    return l;
  }

  /**
   * Lost, duplicated and out-of-order messages of a conversation against the seqs the
   * member should have got.
   */
  audit(conversationId: string, expected: readonly bigint[]): { lost: number; duplicated: number; outOfOrder: number } {
    const l = this.ledger(conversationId);
    const seen = new Set(l.seqs);
    return { lost: expected.filter((s) => !seen.has(s)).length, duplicated: l.seqs.length - seen.size, outOfOrder: l.outOfOrder };
  }

  private take(f: SessionResponse): void {
    this.frames.push(f);
    if (f.frame.case !== "message") return;
    const m = f.frame.value;
    const l = this.ledger(m.conversationId);
    const last = this.lastSeqOfStream.get(m.conversationId);
    if (last !== undefined && m.seq <= last) l.outOfOrder++;
    this.lastSeqOfStream.set(m.conversationId, m.seq);
    l.seqs.push(m.seq);
    l.messages.push(m);
  }

  private disconnected(): void {
    clearInterval(this.pinger);
    this.session = undefined;
  }
}
