// Load generator for the auth storm: `concurrency` clients that log in over and over, each
// starting its next login as soon as the previous one answered, so `concurrency` logins are
// always in flight. A refused login (RESOURCE_EXHAUSTED) is tried again after 100 ms, not
// after the RetryInfo delay: a storm does not wait as asked (a well-behaved client would be
// away for the whole measurement). The per-address and per-username rate limits are off on
// the server, so what refuses is the password-hashing queue.
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { retryAfterMsOf } from "@messenger/rpc";
import { serveWorker } from "../worker-host.js";

let running: AbortController | undefined;
let loops: Promise<void>[] = [];
let sessions: Http2SessionManager | undefined;
const counts = { completed: 0, refused: 0, failed: 0 };
let lastError = "";

/** Waits `ms`, or less when the storm is stopped. */
const pause = (ms: number, signal: AbortSignal): Promise<void> => sleep(ms, undefined, { signal }).catch(() => undefined);

serveWorker({
  async start(a) {
    const { url, username, password, concurrency } = a as { url: string; username: string; password: string; concurrency: number };
    sessions = new Http2SessionManager(url);
    const accounts = createClient(AccountsService, createGrpcTransport({ baseUrl: url, sessionManager: sessions }));
    const stop = (running = new AbortController());
    // Every loop listens to it, and each of their calls too.
    setMaxListeners(2 * concurrency + 10, stop.signal);
    loops = Array.from({ length: concurrency }, async (_, i) => {
      while (!stop.signal.aborted) {
        try {
          await accounts.login({ username, password, deviceId: `storm-${i}` }, { signal: stop.signal });
          counts.completed++;
        } catch (err) {
          if (stop.signal.aborted) return;
          const e = ConnectError.from(err);
          // A refusal must say when to come back; one that does not counts as a failure.
          if (e.code === Code.ResourceExhausted && retryAfterMsOf(e) !== undefined) {
            counts.refused++;
            await pause(100, stop.signal);
          } else {
            counts.failed++;
            lastError = `${Code[e.code]}: ${e.rawMessage}`;
            await pause(100, stop.signal);
          }
        }
      }
    });
    return {};
  },
  /** Completed, refused and failed logins since the last take. */
  async take() {
    const out = { ...counts, lastError };
    counts.completed = counts.refused = counts.failed = 0;
    return out;
  },
  async stop() {
    running?.abort();
    await Promise.all(loops);
    sessions?.abort();
    return {};
  },
});
