// Load generator for the resume storm: SDK clients (the product's own reconnect and resume
// logic) that each hold a direct conversation with one sender.
import { MessengerClient } from "@messenger/sdk";
import { serveWorker } from "../worker-host.js";

const clients: { c: MessengerClient; conversationId: string; seqs: bigint[] }[] = [];

serveWorker({
  async setup(a) {
    const { urls, count, prefix, senderUserId } = a as { urls: string[]; count: number; prefix: string; senderUserId: string };
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const c = new MessengerClient({ url: urls, deviceId: "storm", reconnectBaseMs: 100, reconnectMaxMs: 2_000 });
      const username = `${prefix}${i}`;
      await c.register(username, "bench password");
      await c.login(username, "bench password");
      const conv = await c.openDirect(senderUserId);
      const entry = { c, conversationId: conv.id, seqs: [] as bigint[] };
      c.on("message", (m) => {
        if (m.conversationId === conv.id) entry.seqs.push(m.seq);
      });
      clients.push(entry);
      out.push(conv.id);
    }
    await Promise.all(clients.map((e) => e.c.connect()));
    return { conversationIds: out, urls: clients.map((e) => e.c.currentUrl) };
  },
  async progress(a) {
    const expected = BigInt(a.expected as number);
    const caughtUp = clients.filter((e) => e.seqs.length > 0 && e.seqs.at(-1)! >= expected && e.c.isConnected).length;
    const resumed = clients.filter((e) => e.c.isConnected && e.c.stats.reconnects > 0).length;
    return { caughtUp, resumed };
  },
  async verify(a) {
    const expected = a.expected as number;
    let lost = 0;
    let outOfOrder = 0;
    let duplicates = 0;
    let reconnects = 0;
    for (const e of clients) {
      const got = e.seqs.map(Number);
      for (let s = 1; s <= expected; s++) if (!got.includes(s)) lost++;
      for (let i = 1; i < got.length; i++) if (got[i]! <= got[i - 1]!) outOfOrder++;
      duplicates += e.c.stats.duplicatesReceived + (got.length - new Set(got).size);
      reconnects += e.c.stats.reconnects;
    }
    return { lost, outOfOrder, duplicates, reconnects };
  },
  async close() {
    await Promise.all(clients.map((e) => e.c.close()));
    return {};
  },
});
