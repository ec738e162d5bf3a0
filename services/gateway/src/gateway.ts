import type { MessageInitShape } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client, type HandlerContext } from "@connectrpc/connect";
import { bearerToken, type TokenVerifier } from "@messenger/auth";
import { deliveryCodec, subjects, type Bus, type Subscription } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import { GatewayService, type SendMessage, type SessionRequest } from "@messenger/proto/gateway/v1/gateway_service";
import type { SessionService } from "@messenger/proto/presence/v1/presence_service";
import type { CursorUpdateResult, CursorUpdateSchema, RouterService, SendItemResult, SendItemSchema } from "@messenger/proto/router/v1/router_service";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import { abortStream, createRateLimiter, enforceRateLimit, onCallAbort, route, type RateLimit, type RateLimiter, type ServiceMetrics, type ServiceRoute } from "@messenger/rpc";
import { CircuitBreaker, defaultCircuitBreakerSettings, type CircuitBreakerSettings } from "./circuit-breaker.js";
import { readFrames, type SenderInit } from "./frame-reader.js";
import { createGatewayMetrics, type GatewayMetrics } from "./gateway-metrics.js";
import { fillGapPage, type ReadWindow } from "./gap-fill.js";
import { readHello } from "./handshake.js";
import { outageCodes, peerError } from "./peer-error.js";
import { replay, resync } from "./replay.js";
import { SendOrder } from "./send-order.js";
import { SendPipeline } from "./send-pipeline.js";
import { Session, type GapFiller, type OutboundFrame } from "./session.js";
import { SessionTable } from "./session-table.js";
import { TurnBatcher } from "./turn-batcher.js";

/** Messages per gap-fill read (the store's ReadMessages page bound). */
const fillPageLimit = 500;
/** A gap-fill read that takes longer is abandoned and tried again. */
const fillTimeoutMs = 10_000;
/** Sessions caught up from the store at once after a bus reconnect. */
const catchUpConcurrency = 4;

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
   * How long a gap in a session's conversation may stand before the gateway fetches the
   * missing messages from the store. Only a cost trade-off: deliveries from several routers
   * may cross, and most gaps close on their own within milliseconds.
   */
  readonly gapFillDelayMs: number;
  /** A large group's conversation_updated signals are coalesced per session over this window. */
  readonly conversationUpdateWindowMs: number;
  /**
   * Sends per device (exact: a device's stream lives on one gateway). Over it the gateway
   * reads the device's next frame later (HTTP/2 flow control slows the client); nothing is
   * refused. Unset: no limit.
   */
  readonly sendRateLimitPerDevice?: RateLimit;
  /**
   * Sends per user over all their devices on this gateway, slowed the same way. Per gateway
   * process: a user's devices on other gateways have their own budget there (an
   * approximation that needs no shared counter on the send path).
   */
  readonly sendRateLimitPerUser?: RateLimit;
  /** New streams per user on this gateway; over it a Session is refused with RESOURCE_EXHAUSTED and a RetryInfo. */
  readonly newSessionRateLimitPerUser?: RateLimit;
  /** The circuit breaker on the router (default 250 ms doubling to 5 s). */
  readonly routerBreaker?: CircuitBreakerSettings;
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

/**
 * The connection service: holds one stream per device, authenticates it, registers it with
 * presence, replays what it missed, pushes what the bus delivers for its users in each
 * conversation's seq order, and turns client frames into router calls.
 */
export class Gateway implements GapFiller {
  readonly table = new SessionTable();
  private readonly metrics: GatewayMetrics | undefined;
  private draining = false;
  private sweeping = false;
  private catchingUp: Promise<void> | undefined;
  private catchUpAgain = false;
  private readonly subscription: Subscription;
  private readonly timer: NodeJS.Timeout;
  private readonly sendBatcher: TurnBatcher<MessageInitShape<typeof SendItemSchema>, SendItemResult>;
  private readonly cursorBatcher: TurnBatcher<MessageInitShape<typeof CursorUpdateSchema>, CursorUpdateResult>;
  /** A gap is read a page at a time, never more than half the session's outbound bound. */
  private readonly fillLimit: number;
  private readonly readWindow: ReadWindow;
  private readonly routerBreaker: CircuitBreaker;
  private readonly deviceSends: RateLimiter | undefined;
  private readonly userSends: RateLimiter | undefined;
  private readonly newSessions: RateLimiter | undefined;

  constructor(
    private readonly deps: GatewayDeps,
    readonly settings: GatewaySettings,
  ) {
    this.sendBatcher = new TurnBatcher(async (items) => (await deps.router.sendMessages({ items })).results);
    this.cursorBatcher = new TurnBatcher(async (items) => (await deps.router.updateCursors({ items })).results);
    this.metrics = deps.metrics ? createGatewayMetrics(deps.metrics) : undefined;
    this.fillLimit = Math.max(1, Math.min(fillPageLimit, settings.maxReplayPerConversation, Math.floor(settings.outboundQueueLimit / 2)));
    this.readWindow = async (req) => (await deps.store.readMessages(req, { timeoutMs: fillTimeoutMs })).messages;
    this.routerBreaker = new CircuitBreaker(settings.routerBreaker ?? defaultCircuitBreakerSettings);
    const registry = deps.metrics?.registry;
    this.deviceSends = createRateLimiter("send_per_device", settings.sendRateLimitPerDevice, registry);
    this.userSends = createRateLimiter("send_per_user", settings.sendRateLimitPerUser, registry);
    this.newSessions = createRateLimiter("new_session_per_user", settings.newSessionRateLimitPerUser, registry);
    this.subscription = deps.bus.subscribe(
      subjects.gatewayDeliveries(settings.gatewayId),
      (bytes) => this.onDelivery(bytes),
      () => this.catchUp(),
    );
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
    // A catch-up still reading the store stops at its next session (they are all ended).
    await this.catchingUp;
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
    let delivered = 0;
    for (const userId of delivery.userIds) {
      for (const s of this.table.ofUser(userId)) {
        if (s.id === delivery.excludeSessionId) continue;
        delivered++;
        s.deliver(delivery.frame);
      }
    }
    if (delivered === 0) return;
    this.metrics?.framesDelivered.inc(delivered);
    const frame = delivery.frame.frame;
    // Another host's clock stamped sent_at: a skew behind ours must not read as negative.
    if (frame.case === "message" && frame.value.sentAt) this.metrics?.deliverySeconds.observe(Math.max(0, Date.now() / 1000 - Number(frame.value.sentAt.seconds) - frame.value.sentAt.nanos / 1e9));
  }

  /**
   * The bus link was down: deliveries published meanwhile are lost. Every live session is
   * caught up from the store (a few at a time, so a reconnect does not flood the store); a
   * second reconnect during a catch-up runs another after it.
   */
  private catchUp(): void {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = (async () => {
      do {
        this.catchUpAgain = false;
        const sessions = this.table.all().filter((s) => !s.isSyncing && !s.isClosed);
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < sessions.length) {
            const session = sessions[next++]!;
            try {
              const caught = await resync(this.deps.store, session, this.settings.maxReplayPerConversation);
              this.metrics?.resyncedMessages.inc(caught);
            } catch (err) {
              // The session stays; the next message of a conversation fills its gap, a resume the rest.
              this.sessionLog(session).warn({ err }, "catch-up after a bus reconnect failed");
            }
          }
        };
        await Promise.all(Array.from({ length: catchUpConcurrency }, worker));
        this.metrics?.busCatchUps.inc();
      } while (this.catchUpAgain);
    })()
      .catch((err: unknown) => this.deps.log.warn({ err }, "catch-up after a bus reconnect failed"))
      .finally(() => (this.catchingUp = undefined));
  }

  private async heartbeat(): Promise<void> {
    // A refresh slower than the interval must not stack sweeps on top of each other.
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.sweep();
    } finally {
      this.sweeping = false;
      this.metrics?.heartbeatSweeps.inc();
    }
  }

  private async sweep(): Promise<void> {
    const deadline = Date.now() - 3 * this.settings.heartbeatIntervalMs;
    const live: string[] = [];
    for (const s of this.table.all()) {
      if (s.lastActivity < deadline) {
        this.metrics?.sessionsExpired.inc();
        s.fail(new ConnectError("no ping within three heartbeat intervals", Code.DeadlineExceeded));
      } else live.push(s.id);
    }
    if (live.length === 0) return;
    try {
      const res = await this.deps.sessions.refreshSessions({ sessionIds: live, gatewayId: this.settings.gatewayId });
      for (const id of res.unknownSessionIds) {
        const s = this.table.get(id);
        if (s) await this.register(s);
      }
    } catch (err) {
      this.deps.log.warn({ err }, "session refresh failed");
    }
  }

  private register(s: Session): Promise<unknown> {
    return this.deps.sessions.registerSession({ sessionId: s.id, userId: s.userId, deviceId: s.deviceId, gatewayId: this.settings.gatewayId });
  }

  private async *session(requests: AsyncIterable<SessionRequest>, ctx: HandlerContext): AsyncGenerator<OutboundFrame> {
    if (this.draining) throw new ConnectError("gateway is draining: reconnect to another", Code.Unavailable);
    const it = requests[Symbol.asyncIterator]();
    const hello = await readHello(it, this.settings.helloTimeoutMs);
    const claims = await this.deps.verifier.verify(hello.accessToken || bearerToken(ctx.requestHeader));
    enforceRateLimit(this.newSessions, claims.userId, "new sessions");
    const session = new Session(
      randomUUID(),
      claims.userId,
      claims.deviceId,
      this.settings.outboundQueueLimit,
      (reason) => abortStream(ctx, reason),
      this,
      this.settings.conversationUpdateWindowMs,
    );
    const stopListening = onCallAbort(ctx, session.end.bind(session));
    this.table.add(session);
    this.metrics?.activeStreams.inc();
    try {
      // Registered before the replay reads the store: whatever is stored after that read is
      // delivered live (the router's registry reads are consistent), the rest is replayed.
      await this.register(session);
      session.enqueue({
        frame: {
          case: "welcome",
          value: { sessionId: session.id, userId: session.userId, deviceId: session.deviceId, heartbeatIntervalMs: this.settings.heartbeatIntervalMs, serverTime: timestampNow() },
        },
      });
      void replay(this.deps.store, session, hello.resume, this.settings.maxReplayPerConversation).catch((err: unknown) => {
        this.sessionLog(session).warn({ err }, "resume sync failed");
        session.fail(ConnectError.from(err, Code.Unavailable));
      });
      void readFrames(
        { router: this.deps.router, cursors: this.cursorBatcher, sendPipeline: (s, sender) => this.sendPipeline(s, sender), sendDelayMs: (s) => this.sendDelayMs(s) },
        it,
        session,
      ).catch((err: unknown) => session.fail(ConnectError.from(err)));
      yield* session.frames();
    } finally {
      stopListening();
      this.table.remove(session);
      this.metrics?.activeStreams.dec();
      session.end();
      await this.deps.sessions.endSession({ sessionId: session.id }).catch((err: unknown) => this.sessionLog(session).warn({ err }, "end session failed"));
    }
  }

  /**
   * Fetches a gap of a session's conversation from the store after gapFillDelayMs (unless it
   * closed meanwhile) and settles it, a page at a time (a full page settles up to its last
   * message, and the feed asks for the rest); on failure the feed asks again.
   */
  fill(session: Session, conversationId: string, afterSeq: bigint, beforeSeq: bigint): void {
    const timer = setTimeout(() => {
      void (async () => {
        try {
          if (await fillGapPage(this.readWindow, session, conversationId, afterSeq, beforeSeq, this.fillLimit)) this.metrics?.gapFills.inc();
        } catch (err) {
          this.sessionLog(session).warn({ err, conversationId }, "gap fill failed; trying again");
          await new Promise((r) => setTimeout(r, this.settings.gapFillDelayMs));
        } finally {
          if (!session.isClosed) session.feeds.fillEnded(conversationId);
        }
      })();
    }, this.settings.gapFillDelayMs);
    timer.unref();
  }

  /** Made only when something is logged: a child logger per idle session costs memory. */
  private sessionLog(session: Session): Logger {
    return this.deps.log.child({ sessionId: session.id, userId: session.userId, deviceId: session.deviceId });
  }

  /** The pipeline that stores a session's sends through the router. */
  private sendPipeline(session: Session, sender: SenderInit): SendPipeline {
    return new SendPipeline(
      {
        send: (batch) => this.storeSends(batch, sender),
        result: (r) => session.sendResult({ frame: { case: "sendResult", value: r } }),
        retryAfterMs: () => this.routerBreaker.retryAfterMs(),
        reconnect: (afterMs) => {
          session.enqueue({ frame: { case: "goAway", value: { reason: "too many sends wait behind one that failed: reconnect and repeat them in order", reconnectAfterMs: afterMs } } });
          session.end();
        },
        closed: () => session.isClosed,
      },
      new SendOrder(this.settings.outboundQueueLimit),
      this.settings.outboundQueueLimit,
    );
  }

  /**
   * Stores one session's batch through the router, unless the router's circuit breaker is
   * open: then the batch is answered at once (UNAVAILABLE), so an outage costs the router
   * nothing when it returns and costs this gateway no calls meanwhile.
   */
  private async storeSends(batch: readonly SendMessage[], sender: SenderInit): Promise<SendItemResult[]> {
    const permit = this.routerBreaker.tryCall();
    if (!permit.ok) {
      this.metrics?.sends.inc({ result: "refused" }, batch.length);
      this.metrics?.sendsShed.inc(batch.length);
      throw new ConnectError("router unavailable (circuit open)", Code.Unavailable);
    }
    const timer = this.metrics?.sendSeconds.startTimer();
    try {
      const results = await this.sendBatcher.send(batch.map((message) => ({ sender, message })));
      if (this.routerBreaker.isOpen) this.deps.log.info("router reachable again: circuit closed");
      this.routerBreaker.succeeded();
      this.metrics?.routerCircuitOpen.set(0);
      for (const r of results) this.metrics?.sends.inc({ result: r.errorCode !== 0 ? "refused" : r.duplicate ? "duplicate" : "ok" });
      return results;
    } catch (err) {
      const e = peerError(err);
      if (outageCodes.has(e.code)) {
        if (!this.routerBreaker.isOpen) this.deps.log.warn({ err }, "router unreachable: circuit open, sends are answered at once until a probe gets through");
        this.routerBreaker.failed(permit.startedAt);
        this.metrics?.routerCircuitOpen.set(1);
      }
      this.metrics?.sends.inc({ result: "refused" }, batch.length);
      throw e;
    } finally {
      timer?.();
    }
  }

  /** Takes one send from the device's and the user's buckets; the longer of the two waits. */
  private sendDelayMs(session: Session): number {
    if (!this.deviceSends && !this.userSends) return 0;
    const now = Date.now();
    const device = this.deviceSends?.delay(`${session.userId}/${session.deviceId}`, now) ?? 0;
    const user = this.userSends?.delay(session.userId, now) ?? 0;
    const ms = Math.max(device, user);
    if (ms > 0) this.metrics?.sendDelaySeconds.inc(ms / 1000);
    return ms;
  }
}
