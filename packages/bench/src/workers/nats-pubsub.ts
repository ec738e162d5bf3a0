// Load generator for the NATS baseline: a publisher or a subscriber on one subject.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { serveWorker } from "../worker-host.js";

let nc: NatsConnection | undefined;
let received = 0;
let counting = false;
let publishing = false;

serveWorker({
  async subscribe(a) {
    nc = await connect({ servers: a.url as string });
    nc.subscribe(a.subject as string, {
      callback: () => {
        if (counting) received++;
      },
    });
    await nc.flush();
    return {};
  },
  async publish(a) {
    nc = await connect({ servers: a.url as string });
    const payload = new Uint8Array(a.messageBytes as number).fill(120);
    publishing = true;
    void (async () => {
      while (publishing) {
        for (let i = 0; i < 1000; i++) nc!.publish(a.subject as string, payload);
        await nc!.flush();
      }
    })();
    return {};
  },
  async record() {
    received = 0;
    counting = true;
    return {};
  },
  async collect() {
    counting = false;
    return { received };
  },
  async close() {
    publishing = false;
    await nc?.close();
    return {};
  },
});
