import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import { GatewayService, SessionRequestSchema, type SessionRequest } from "@messenger/proto/gateway/v1/gateway_service";
import { describe, expect, it } from "vitest";
import { startGrpcServer } from "./grpc-server.js";
import { route } from "./service-routes.js";

describe("gRPC listener", () => {
  it("closes within its grace period even while a client holds a stream open", async () => {
    // A stream that ends only when the client stops sending, which this client never does.
    const handle = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      maxReceiveMessageBytes: 1 << 20,
      routes: [
        route(
          GatewayService,
          {
            async *session(requests: AsyncIterable<SessionRequest>) {
              for await (const _ of requests) yield { frame: { case: "pong", value: { nonce: 1n } } };
            },
          },
          "public",
        ),
      ],
    });
    const client = createClient(GatewayService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${handle.port}` }));
    let release: (() => void) | undefined;
    async function* requests(): AsyncGenerator<SessionRequest> {
      yield create(SessionRequestSchema, { frame: { case: "ping", value: { nonce: 1n } } });
      await new Promise<void>((r) => (release = r));
    }
    const stream = client.session(requests());
    const first = await stream[Symbol.asyncIterator]().next();
    expect(first.value?.frame.case).toBe("pong");
    const started = Date.now();
    await handle.close(300);
    expect(Date.now() - started).toBeLessThan(3_000);
    release?.();
  });
});
