// The transport ceiling: a bidi echo on @grpc/grpc-js, the stack our gRPC port runs on,
// with no work per message beyond what the stack itself does.
import * as grpc from "@grpc/grpc-js";

const passthrough = (b: Buffer): Buffer => b;
const server = new grpc.Server();
server.addService(
  {
    Echo: {
      path: "/bench.v1.EchoService/Echo",
      requestStream: true,
      responseStream: true,
      requestSerialize: passthrough,
      requestDeserialize: passthrough,
      responseSerialize: passthrough,
      responseDeserialize: passthrough,
    },
  },
  {
    Echo: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (b: Buffer) => call.write(b));
      call.on("end", () => call.end());
      call.on("error", () => undefined);
    },
  },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ msg: "listening", grpcPort: port })}\n`);
});
process.on("SIGTERM", () => server.forceShutdown());
