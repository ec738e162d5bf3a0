import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Message } from "@messenger/proto/chat/v1/types";
import { MessengerClient, type ClientFootprint } from "@messenger/sdk";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { eventually } from "@messenger/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textOf } from "../support/api-user.js";

// A day of a phone's life, compressed: the gateway cuts its stream or sends it away hundreds
// of times while thousands of messages go both ways. Limits are off: this is about what the
// SDK keeps, not about the gateway's budgets.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem({ SEND_RATE_LIMIT_PER_DEVICE: "off", SEND_RATE_LIMIT_PER_USER: "off", NEW_SESSION_RATE_LIMIT_PER_USER: "off" });
});
afterAll(async () => {
  await sys?.dispose();
});

const password = "correct horse battery";

async function device(name: string): Promise<MessengerClient> {
  const c = new MessengerClient({ url: sys.grpcUrl, deviceId: "phone", reconnectBaseMs: 1, reconnectMaxMs: 10, gapWaitMs: 50 });
  await c.register(name, password);
  await c.login(name, password);
  return c;
}

/** The gateway ends the device's stream: an error status, or a go_away and a clean end. */
function cut(userId: string, how: "fail" | "goAway"): void {
  for (const s of sys.gateway.table.ofUser(userId)) {
    if (how === "fail") s.fail(new ConnectError("cut by the soak test", Code.Unavailable));
    else {
      s.enqueue({ frame: { case: "goAway", value: { reason: "soak", reconnectAfterMs: 0 } } });
      s.end();
    }
  }
}

/**
 * Checks a device's message events against the two senders' orders as they come, holding
 * counts rather than the messages (the heap is measured).
 */
class Arrivals {
  readonly next = { a: 0, b: 0 };
  readonly wrong: string[] = [];

  constructor(c: MessengerClient) {
    c.on("message", (m) => this.take(m));
  }

  get total(): number {
    return this.next.a + this.next.b;
  }

  private take(m: Message): void {
    const [from, n] = textOf(m).split(" ") as ["a" | "b", string];
    if (Number(n) !== this.next[from]) this.wrong.push(`${from} ${n} when ${this.next[from]} was due`);
    else this.next[from]++;
  }
}

interface Checkpoint {
  readonly heapUsed: number;
  readonly alice: ClientFootprint;
  readonly bob: ClientFootprint;
  readonly listeners: string;
}

describe("SDK soak: hundreds of reconnects, thousands of messages", () => {
  it("keeps listeners, buffers and heap flat, warns of nothing, and delivers every message once and in order", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on("warning", onWarning);
    const tag = `soak${process.pid}${Date.now().toString(36)}`;
    const [alice, bob] = [await device(`${tag}a`), await device(`${tag}b`)];
    try {
      await Promise.all([alice.connect(), bob.connect()]);
      const conv = await alice.openDirect(bob.user!.id);
      const bobGot = new Arrivals(bob);
      const aliceGot = new Arrivals(alice);
      const sent = { a: 0, b: 0 };
      const listeners = (): string => [alice, bob].map((c) => c.eventNames().map((n) => `${String(n)}:${c.listenerCount(n)}`).join(",")).join(" | ");
      const checkpoints: Checkpoint[] = [];
      const cycles = 300;
      for (let cycle = 0; cycle < cycles; cycle++) {
        const sends: Promise<Message>[] = [];
        for (let i = 0; i < 10; i++) sends.push(alice.send(conv.id, `a ${sent.a++}`));
        sends.push(bob.send(conv.id, `b ${sent.b++}`));
        // Mid-traffic, the gateway cuts one of them (every kind of cut, each device in turn).
        const victim = cycle % 2 === 0 ? alice : bob;
        const reconnects = victim.stats.reconnects;
        cut(victim.user!.id, cycle % 4 < 2 ? "fail" : "goAway");
        await eventually(() => victim.stats.reconnects > reconnects && victim.isConnected, `cycle ${cycle}: reconnected`);
        await Promise.all(sends);
        if (cycle % 50 === 49) {
          await eventually(() => bobGot.total === sent.a + sent.b && aliceGot.total === bobGot.total, `cycle ${cycle}: all delivered`);
          gc();
          gc();
          checkpoints.push({ heapUsed: process.memoryUsage().heapUsed, alice: alice.footprint(), bob: bob.footprint(), listeners: listeners() });
        }
      }
      // Everything arrived once, in order, on both devices (each device's own included).
      for (const got of [aliceGot, bobGot]) {
        expect(got.wrong).toEqual([]);
        expect(got.next).toEqual(sent);
      }
      expect([alice.stats.duplicatesReceived, bob.stats.duplicatesReceived]).toEqual([0, 0]);
      expect(alice.stats.reconnects + bob.stats.reconnects).toBeGreaterThanOrEqual(cycles);

      // Nothing the SDK holds grows with reconnects or messages.
      const first = checkpoints[0]!;
      for (const c of checkpoints) {
        expect(c.listeners).toBe(first.listeners);
        for (const f of [c.alice, c.bob]) expect(f).toEqual({ pendingSends: 0, heldMessages: 0, conversations: 1, closeListeners: 0, timers: f.timers });
        expect(c.alice.timers + c.bob.timers).toBeLessThanOrEqual(4);
      }
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
      // Heap after GC, from the first checkpoint (warmed up) to the last, the in-process system
      // included: flat within a few megabytes (the measured rise is printed).
      const rise = checkpoints.at(-1)!.heapUsed - first.heapUsed;
      console.log(`soak: ${cycles} cuts, ${sent.a + sent.b} messages; heap after GC per checkpoint (MiB): ${checkpoints.map((c) => (c.heapUsed / 2 ** 20).toFixed(1)).join(" ")}`);
      expect(rise).toBeLessThan(3 * 2 ** 20);
    } finally {
      process.off("warning", onWarning);
      await Promise.all([alice.close(), bob.close()]);
    }
  }, 60_000);
});
