import type { MessageInitShape } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client, type HandlerContext } from "@connectrpc/connect";
import { bearerToken, type TokenVerifier } from "@messenger/auth";
import { deliveryCodec, subjects, type Bus, type Subscription } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { ConversationCursor } from "@messenger/proto/chat/v1/types";
import { GatewayService, type ResumeState, type SessionRequest } from "@messenger/proto/gateway/v1/gateway_service";
import type { SessionService } from "@messenger/proto/presence/v1/presence_service";
import type { CursorUpdateResult, CursorUpdateSchema, RouterService, SendItemResult, SendItemSchema, SenderSchema } from "@messenger/proto/router/v1/router_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { abortStream, identityHeaders, onCallAbort, identityMetadata, route, type ServiceMetrics, type ServiceRoute } from "@messenger/rpc";
import { createGatewayMetrics, type GatewayMetrics } from "./gateway-metrics.js";
import { Session, type OutboundFrame } from "./session.js";
import { SessionTable } from "./session-table.js";
import { peerError } from "./peer-error.js";
import { TurnBatcher } from "./turn-batcher.js";
import { SendPipeline } from "./send-pipeline.js";

/** A session as the router's batched calls name it. */
type SenderInit = MessageInitShape<typeof SenderSchema>;

/** Gateway settings. */
export interface GatewaySettings {
  readonly gatewayId: string;
  /** Clients ping this often; a session silent for three intervals is closed. */
  readonly heartbeatIntervalMs: number;
  /** Outbound frames a session may have waiting before it is cut with RESOURCE_EXHAUSTED. */
  readonly outboundQueueLimit: number;
  /** A client must say hello within this time. */
  readonly helloTimeoutMs: number;
  /** Conversations missing more than this are reset rather than replayed. */
  readonly maxReplayPerConversation: number;
  /**
   * How long a resuming session waits, after registering, before it reads what it missed.
   * Routers learn of a new session through the session registry a little later; a message
   * stored in that gap would be pushed only to the old session and read too early to be in
   * the replay. Waiting out the registry's propagation closes the gap (live copies that
   * arrive meanwhile are held and deduplicated as usual). 0 where the registry is in-process.
   */
  readonly resumeSettleMs: number;
}

/** What the gateway calls. */
export interface GatewayDeps {
  readonly verifier: TokenVerifier;
  readonly router: Client<typeof RouterService>;
  readonly store: Client<typeof StoreService>;
  readonly sessions: Client<typeof SessionService>;
  readonly bus: Bus;
  readonly log: Logger;
  /** The process's metrics registry; the gateway adds its own metrics to it. */
  readonly metrics?: ServiceMetrics;
}

const syncPageMessages = 200;

/**
 * The connection service: holds one stream per device, authenticates it, registers it with
 * presence, replays what it missed, pushes what the bus delivers for its users, and turns
 * client frames into router calls.
 */
export class Gateway {
  readonly table = new SessionTable();
  private readonly metrics: GatewayMetrics | undefined;
  private draining = false;
  private readonly subscription: Subscription;
  private readonly timer: NodeJS.Timeout;
  private readonly gatewayHeaders: Record<string, string>;
  private readonly sendBatcher: TurnBatcher<MessageInitShape<typeof SendItemSchema>, SendItemResult>;
  private readonly cursorBatcher: TurnBatcher<MessageInitShape<typeof CursorUpdateSchema>, CursorUpdateResult>;

  constructor(
    private readonly deps: GatewayDeps,
    readonly settings: GatewaySettings,
  ) {
    this.gatewayHeaders = { [identityHeaders.gateway]: settings.gatewayId };
    this.sendBatcher = new TurnBatcher(async (items) => (await deps.router.sendMessages({ items }, { headers: this.gatewayHeaders })).results);
    this.cursorBatcher = new TurnBatcher(async (items) => (await deps.router.updateCursors({ items }, { headers: this.gatewayHeaders })).results);
    this.metrics = deps.metrics ? createGatewayMetrics(deps.metrics) : undefined;
    this.subscription = deps.bus.subscribe(subjects.gatewayDeliveries(settings.gatewayId), (bytes) => this.onDelivery(bytes));
    this.timer = setInterval(() => void this.heartbeat(), settings.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** The GatewayService route (public). */
  route(): ServiceRoute {
    return route(GatewayService, { session: (requests, ctx) => this.session(requests, ctx) }, "public");
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Stops taking streams, tells every client to reconnect elsewhere, and ends the sessions
   * in waves spread over `graceMs` so the clients do not all reconnect at once.
   */
  async drain(graceMs: number, waves = 5): Promise<void> {
    this.draining = true;
    const sessions = this.table.all();
    for (const s of sessions) s.enqueue({ frame: { case: "goAway", value: { reason: "gateway draining", reconnectAfterMs: 0 } } });
    const perWave = Math.max(1, Math.ceil(sessions.length / waves));
    for (let i = 0; i < sessions.length; i += perWave) {
      for (const s of sessions.slice(i, i + perWave)) s.end();
      if (i + perWave < sessions.length) await new Promise((r) => setTimeout(r, graceMs / waves));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.subscription.unsubscribe();
    for (const s of this.table.all()) s.end();
  }

  private onDelivery(bytes: Uint8Array): void {
    this.metrics?.deliveriesReceived.inc();
    let delivery;
    try {
      delivery = deliveryCodec.decode(bytes);
    } catch (err) {
      this.deps.log.warn({ err }, "undecodable delivery dropped");
      return;
    }
    if (!delivery.frame) return;
    for (const userId of delivery.userIds) {
      for (const s of this.table.ofUser(userId)) {
        if (s.id === delivery.excludeSessionId) continue;
        this.metrics?.framesDelivered.inc();
        s.deliver(delivery.frame);
      }
    }
  }

  private async heartbeat(): Promise<void> {
    const deadline = Date.now() - 3 * this.settings.heartbeatIntervalMs;
    const live: string[] = [];
    for (const s of this.table.all()) {
      if (s.lastActivity < deadline) s.fail(new ConnectError("no ping within three heartbeat intervals", Code.DeadlineExceeded));
      else live.push(s.id);
    }
    if (live.length === 0) return;
    try {
      const res = await this.deps.sessions.refreshSessions({ sessionIds: live }, { headers: this.gatewayHeaders });
      for (const id of res.unknownSessionIds) {
        const s = this.table.get(id);
        if (s) await this.register(s);
      }
    } catch (err) {
      this.deps.log.warn({ err }, "session refresh failed");
    }
  }

  private register(s: Session): Promise<unknown> {
    return this.deps.sessions.registerSession({ sessionId: s.id, userId: s.userId, deviceId: s.deviceId }, { headers: this.gatewayHeaders });
  }

  private async *session(requests: AsyncIterable<SessionRequest>, ctx: HandlerContext): AsyncGenerator<OutboundFrame> {
    if (this.draining) throw new ConnectError("gateway is draining: reconnect to another", Code.Unavailable);
    const it = requests[Symbol.asyncIterator]();
    const first = await this.firstFrame(it);
    if (first.frame.case !== "hello") throw new ConnectError("the first frame must be a hello", Code.InvalidArgument);
    const hello = first.frame.value;
    const claims = await this.deps.verifier.verify(hello.accessToken || bearerToken(ctx.requestHeader));
    const session = new Session(randomUUID(), claims.userId, claims.deviceId, this.settings.outboundQueueLimit, (reason) => abortStream(ctx, reason));
    const stopListening = onCallAbort(ctx, session.end.bind(session));
    this.table.add(session);
    this.metrics?.activeStreams.inc();
    try {
      await this.register(session);
      session.enqueue({
        frame: {
          case: "welcome",
          value: { sessionId: session.id, userId: session.userId, deviceId: session.deviceId, heartbeatIntervalMs: this.settings.heartbeatIntervalMs, serverTime: timestampNow() },
        },
      });
      const identity = identityMetadata({ userId: session.userId, deviceId: session.deviceId, sessionId: session.id });
      void this.replay(session, hello.resume, identity).catch((err: unknown) => {
        this.sessionLog(session).warn({ err }, "resume sync failed");
        session.fail(ConnectError.from(err, Code.Unavailable));
      });
      void this.readFrames(it, session, identity).catch((err: unknown) => session.fail(ConnectError.from(err)));
      yield* session.frames();
    } finally {
      stopListening();
      this.table.remove(session);
      this.metrics?.activeStreams.dec();
      session.end();
      await this.deps.sessions.endSession({ sessionId: session.id }, { headers: this.gatewayHeaders }).catch((err: unknown) => this.sessionLog(session).warn({ err }, "end session failed"));
    }
  }

  /** Made only when something is logged: a child logger per idle session costs memory. */
  private sessionLog(session: Session): Logger {
    return this.deps.log.child({ sessionId: session.id, userId: session.userId, deviceId: session.deviceId });
  }

  private async firstFrame(it: AsyncIterator<SessionRequest>): Promise<SessionRequest> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectError("no hello within the hello timeout", Code.DeadlineExceeded)), this.settings.helloTimeoutMs);
    });
    try {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new ConnectError("stream closed before hello", Code.InvalidArgument);
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Replays what the device missed since its resume state, paced by the outbound queue. */
  private async replay(session: Session, resume: ResumeState | undefined, identity: Record<string, string>): Promise<void> {
    let version = resume?.syncVersion ?? 0n;
    const cursors = new Map<string, bigint>((resume?.cursors ?? []).map((c: ConversationCursor) => [c.conversationId, c.seq]));
    let replayed = 0;
    if (this.settings.resumeSettleMs > 0) await new Promise((r) => setTimeout(r, this.settings.resumeSettleMs));
    for (;;) {
      await session.roomFor();
      if (session.isClosed) return;
      const page = await this.deps.store.sync(
        {
          sinceVersion: version,
          cursors: [...cursors].map(([conversationId, seq]) => ({ conversationId, seq })),
          maxMessages: syncPageMessages,
          maxReplayPerConversation: this.settings.maxReplayPerConversation,
        },
        { headers: identity },
      );
      for (const c of page.conversations) {
        await session.roomFor();
        if (session.isClosed) return;
        if (c.reset) {
          session.enqueue({ frame: { case: "reset", value: { conversationId: c.conversationId, lastSeq: c.lastSeq } } });
          session.replayedUpTo(c.conversationId, c.lastSeq);
        }
        for (const m of c.messages) {
          // The replay is paced by the session's own queue, so it never trips the slow-consumer bound.
          await session.roomFor();
          if (session.isClosed) return;
          session.replay({ frame: { case: "message", value: m } });
          replayed++;
        }
        for (const r of c.receipts) session.enqueue({ frame: { case: "receipt", value: { conversationId: c.conversationId, receipt: r } } });
        const last = c.messages.at(-1)?.seq;
        if (last !== undefined) cursors.set(c.conversationId, last);
        else if (c.reset) cursors.set(c.conversationId, c.lastSeq);
      }
      version = page.version;
      if (page.complete) break;
    }
    session.enqueue({ frame: { case: "syncComplete", value: { syncVersion: version, replayedMessages: replayed } } });
    session.finishSync();
  }

  /**
   * Turns client frames into router calls. Sends go through the session's SendPipeline
   * (pipelined, stored in the device's order); the other frames are handled one at a time.
   * The client's stream is read only while the pipeline has room, so a client that sends
   * faster than the store takes is held back by HTTP/2 flow control.
   */
  private async readFrames(it: AsyncIterator<SessionRequest>, session: Session, identity: Record<string, string>): Promise<void> {
    // Made on the first send: most sessions sit idle, and idle sessions are what a gateway holds.
    let sends: SendPipeline | undefined;
    // Who this session's sends and marks come from, as the router's batched calls name it.
    const sender: SenderInit = { userId: session.userId, deviceId: session.deviceId, sessionId: session.id };
    for (;;) {
      await sends?.roomFor();
      const r = await it.next();
      if (r.done) {
        await sends?.idle();
        return session.end();
      }
      session.lastActivity = Date.now();
      const f = r.value.frame;
      switch (f.case) {
        case "send":
          (sends ??= this.sendPipeline(session, sender)).add(f.value);
          break;
        case "ack":
        case "read": {
          const c = f.value;
          const seqs = f.case === "ack" ? { deliveredSeq: c.seq } : { readSeq: c.seq };
          await this.frameCall(session, f.case, async () => {
            const [r] = await this.cursorBatcher.send([{ conversationId: c.conversationId, ...seqs, sender }]);
            if (r && r.errorCode !== 0) throw new ConnectError(r.errorMessage, r.errorCode as Code);
          });
          break;
        }
        case "typing":
          await this.frameCall(session, "typing", () =>
            this.deps.router.setTyping({ conversationId: f.value.conversationId, typing: f.value.typing }, { headers: identity }),
          );
          break;
        case "ping":
          session.enqueue({ frame: { case: "pong", value: { nonce: f.value.nonce, serverTime: timestampNow() } } });
          break;
        case "hello":
          session.enqueue({ frame: { case: "error", value: { code: Code.InvalidArgument, message: "hello may be sent only once", frame: "hello" } } });
          break;
        default:
          session.enqueue({ frame: { case: "error", value: { code: Code.InvalidArgument, message: "empty or unknown frame", frame: "" } } });
      }
    }
  }

  /** The pipeline that stores a session's sends through the router. */
  private sendPipeline(session: Session, sender: SenderInit): SendPipeline {
    return new SendPipeline(
      {
        send: async (batch) => {
          const timer = this.metrics?.sendSeconds.startTimer();
          try {
            const results = await this.sendBatcher.send(
              batch.map((s) => ({ conversationId: s.conversationId, clientMessageId: s.clientMessageId, text: s.text, sender })),
            );
            for (const r of results) this.metrics?.sends.inc({ result: r.errorCode !== 0 ? "refused" : r.duplicate ? "duplicate" : "ok" });
            return results;
          } catch (err) {
            this.metrics?.sends.inc({ result: "refused" }, batch.length);
            throw err;
          } finally {
            timer?.();
          }
        },
        result: (r) => session.enqueue({ frame: { case: "sendResult", value: r } }),
        overflow: (reason) => session.fail(reason),
        closed: () => session.isClosed,
      },
      this.settings.outboundQueueLimit,
    );
  }

  private async frameCall(session: Session, frame: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      const e = peerError(err);
      session.enqueue({ frame: { case: "error", value: { code: e.code, message: e.rawMessage, frame } } });
    }
  }
}
