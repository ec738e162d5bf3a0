import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { SessionRequest } from "@messenger/proto/gateway/v1/gateway_service";
import type { CursorUpdateResult, CursorUpdateSchema, RouterService, SenderSchema } from "@messenger/proto/router/v1/router_service";
import { peerError } from "./peer-error.js";
import type { SendPipeline } from "./send-pipeline.js";
import type { Session } from "./session.js";
import type { TurnBatcher } from "./turn-batcher.js";

/** A session as the router's calls name it. */
export type SenderInit = MessageInitShape<typeof SenderSchema>;

/** What reading a session's frames needs. */
export interface FrameReaderDeps {
  readonly router: Client<typeof RouterService>;
  readonly cursors: TurnBatcher<MessageInitShape<typeof CursorUpdateSchema>, CursorUpdateResult>;
  /** Made on the session's first send: most sessions sit idle, and idle sessions are what a gateway holds. */
  sendPipeline(session: Session, sender: SenderInit): SendPipeline;
  /** Takes one send from the session's rate limits; how long to wait before reading its next frame (0 within them). */
  sendDelayMs(session: Session): number;
}

/**
 * Turns client frames into router calls. Sends go through the session's SendPipeline
 * (pipelined, stored in the device's order); the other frames are handled one at a time.
 * The client's stream is read only while the pipeline has room, so a client that sends
 * faster than the store takes, or than it reads the answers, is held back by HTTP/2 flow
 * control; a client over its send rate limits is held back the same way, by a pause before
 * its next frame is read (slowed, never refused or cut). A refused frame gets a FrameError
 * and the session goes on.
 */
export async function readFrames(deps: FrameReaderDeps, it: AsyncIterator<SessionRequest>, session: Session): Promise<void> {
  let sends: SendPipeline | undefined;
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
      case "send": {
        (sends ??= deps.sendPipeline(session, sender)).add(f.value);
        const delay = deps.sendDelayMs(session);
        if (delay > 0) await holdBack(session, delay);
        // Its answer takes room in the outbound queue: read on once the client has taken some.
        await session.roomFor();
        break;
      }
      case "ack":
      case "read": {
        const c = f.value;
        const seqs = f.case === "ack" ? { deliveredSeq: c.seq } : { readSeq: c.seq };
        await frameCall(session, f.case, async () => {
          const [res] = await deps.cursors.send([{ conversationId: c.conversationId, ...seqs, sender }]);
          if (res && res.errorCode !== 0) throw new ConnectError(res.errorMessage, res.errorCode as Code);
        });
        break;
      }
      case "typing":
        await frameCall(session, "typing", () =>
          deps.router.setTyping({ sender, conversationId: f.value.conversationId, typing: f.value.typing }),
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

async function frameCall(session: Session, frame: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    const e = peerError(err);
    session.enqueue({ frame: { case: "error", value: { code: e.code, message: e.rawMessage, frame } } });
  }
}

/**
 * Waits before the session's next frame is read. The session counts as active meanwhile: its
 * pings wait unread behind the held frames, and a held client must not be taken for a dead one.
 */
async function holdBack(session: Session, ms: number): Promise<void> {
  session.lastActivity = Date.now() + ms;
  await new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
}
