// Load generator: holds many idle device sessions (hello, welcome, sync done, heartbeats).
import type http2 from "node:http2";
import { createTokenIssuer } from "@messenger/auth";
import { connectH2, RawSession } from "../raw-session.js";
import { serveWorker } from "../worker-host.js";

const sessions: RawSession[] = [];
const connections: http2.ClientHttp2Session[] = [];
let pinger: NodeJS.Timeout | undefined;

serveWorker({
  async open(a) {
    const { url, count, perConnection, keyPath, userPrefix, heartbeatMs } = a as {
      url: string;
      count: number;
      perConnection: number;
      keyPath: string;
      userPrefix: string;
      heartbeatMs: number;
    };
    const issuer = await createTokenIssuer({ keyPath, ttlSeconds: 3600 });
    let failed = 0;
    const openOne = async (i: number, conn: http2.ClientHttp2Session): Promise<void> => {
      const { token } = await issuer.issue({ userId: `${userPrefix}${i}`, deviceId: "bench" });
      await new Promise<void>((resolve) => {
        const s = new RawSession(
          conn,
          (f) => {
            if (f.frame.case === "syncComplete") resolve();
          },
          () => {
            failed++;
            resolve();
          },
        );
        sessions.push(s);
        s.send({ frame: { case: "hello", value: { accessToken: token } } });
      });
    };
    const inFlight = 256;
    for (let start = 0; start < count; start += inFlight) {
      const batch: Promise<void>[] = [];
      for (let i = start; i < Math.min(count, start + inFlight); i++) {
        if (i % perConnection === 0) connections.push(await connectH2(url));
        batch.push(openOne(i, connections.at(-1)!));
      }
      await Promise.all(batch);
    }
    // Heartbeats, spread over the interval so they do not arrive in one burst.
    let next = 0;
    const perTick = Math.max(1, Math.ceil(sessions.length / (heartbeatMs / 100)));
    pinger = setInterval(() => {
      for (let k = 0; k < perTick && sessions.length > 0; k++) sessions[next++ % sessions.length]!.send({ frame: { case: "ping", value: { nonce: 1n } } });
    }, 100);
    return { opened: sessions.length - failed, failed, connections: connections.length };
  },
  async close() {
    clearInterval(pinger);
    for (const s of sessions) s.close();
    for (const c of connections) c.destroy();
    sessions.length = 0;
    connections.length = 0;
    return {};
  },
});
