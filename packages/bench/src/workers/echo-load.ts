// Load generator for the echo baseline: C connections, one bidi stream each, a window of
// messages in flight per stream, the same message size as the chat scenario.
import type http2 from "node:http2";
import { connectH2, FrameReader, grpcFrame } from "../raw-session.js";
import { serveWorker } from "../worker-host.js";

const connections: http2.ClientHttp2Session[] = [];
const streams: http2.ClientHttp2Stream[] = [];
let counting = false;
let echoed = 0;
let running = false;

serveWorker({
  async start(a) {
    const { url, connections: n, window, messageBytes } = a as { url: string; connections: number; window: number; messageBytes: number };
    const payload = grpcFrame(Buffer.alloc(messageBytes, 120));
    running = true;
    for (let i = 0; i < n; i++) {
      const conn = await connectH2(url);
      connections.push(conn);
      const stream = conn.request({ ":method": "POST", ":path": "/bench.v1.EchoService/Echo", "content-type": "application/grpc", te: "trailers" });
      stream.on("error", () => undefined);
      const reader = new FrameReader(() => {
        if (counting) echoed++;
        if (running) stream.write(payload);
      });
      stream.on("data", (c: Buffer) => reader.push(c));
      streams.push(stream);
      for (let k = 0; k < window; k++) stream.write(payload);
    }
    return {};
  },
  async record() {
    echoed = 0;
    counting = true;
    return {};
  },
  async collect() {
    counting = false;
    return { echoed };
  },
  async close() {
    running = false;
    for (const s of streams) s.close();
    for (const c of connections) c.destroy();
    return {};
  },
});
