// The unrelated user of the auth storm: one client that, one call at a time, lists its
// conversations (a unary call with its access token) and opens a device session (time from
// the stream's first byte to the `welcome` frame), recording each latency.
import type http2 from "node:http2";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { connectH2, RawSession } from "../raw-session.js";
import { serveWorker } from "../worker-host.js";

let token = "";
let history: ReturnType<typeof createClient<typeof HistoryService>> | undefined;
let sessions: Http2SessionManager | undefined;
let connection: http2.ClientHttp2Session | undefined;

/** Opens a session, waits for `welcome`, closes it; resolves with the time taken in ms. */
function hello(conn: http2.ClientHttp2Session): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let welcomed = false;
    const s = new RawSession(conn, (f) => {
      if (f.frame.case !== "welcome") return;
      welcomed = true;
      resolve(performance.now() - t0);
      // Half-close and let the server end the stream: resetting thousands of streams on one
      // connection trips HTTP/2's reset-flood protection (nghttp2 allows a burst of 1000,
      // then 33/s), and the server tears the connection down.
      s.stream.end();
    });
    // A refused stream may end with its status in the response headers (no trailers event).
    let status = "";
    s.stream.once("response", (headers) => (status = String(headers["grpc-status"] ?? "")));
    s.stream.once("trailers", (trailers) => (status ||= String(trailers["grpc-status"] ?? "")));
    let failure = "";
    s.stream.once("error", (err: Error) => (failure = `: ${err.message}`));
    s.stream.once("close", () => {
      if (!welcomed) reject(new Error(`session ended before welcome (grpc-status ${status || "none"}${failure})`));
    });
    s.send({ frame: { case: "hello", value: { accessToken: token } } });
  });
}

serveWorker({
  async setup(a) {
    const { url, username, password } = a as { url: string; username: string; password: string };
    sessions = new Http2SessionManager(url);
    const transport = createGrpcTransport({ baseUrl: url, sessionManager: sessions });
    token = (await createClient(AccountsService, transport).login({ username, password, deviceId: "probe" })).tokens!.accessToken;
    history = createClient(HistoryService, transport);
    connection = await connectH2(url);
    return {};
  },
  async probe(a) {
    const seconds = a.seconds as number;
    const listMs: number[] = [];
    const helloMs: number[] = [];
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      await history!.listConversations({ pageSize: 20 }, auth);
      listMs.push(performance.now() - t0);
      helloMs.push(await hello(connection!));
    }
    return { listMs, helloMs };
  },
  async close() {
    sessions?.abort();
    connection?.destroy();
    return {};
  },
});
