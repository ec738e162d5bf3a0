import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status, type HealthCheckRequest } from "@messenger/proto/grpc/health/v1/health";
import { route, type ServiceRoute } from "./service-routes.js";

/**
 * Whether this process takes calls: the one flag behind grpc.health.v1 on every listener of
 * the process and behind /readyz. A drain turns it off first.
 */
export class ServingState {
  #serving = true;
  #version = 0;
  readonly #waiters = new Set<() => void>();

  get serving(): boolean {
    return this.#serving;
  }

  /** Counts changes, so a watcher that compares versions cannot miss one. */
  get version(): number {
    return this.#version;
  }

  set(serving: boolean): void {
    if (serving === this.#serving) return;
    this.#serving = serving;
    this.#version++;
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves once the state changed after `version`, or once the signal aborts. */
  changedSince(version: number, signal: AbortSignal): Promise<void> {
    if (version !== this.#version || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.#waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }
}

/**
 * grpc.health.v1.Health for the services mounted on one listener: "" (the whole server) and
 * each name report SERVING or NOT_SERVING from the shared state; any other name is
 * NOT_FOUND on Check and SERVICE_UNKNOWN on Watch, as the health-checking protocol says.
 */
export function healthRoute(serviceNames: readonly string[], state: ServingState): ServiceRoute {
  const known = new Set(["", ...serviceNames]);
  const current = (): Status => (state.serving ? Status.SERVING : Status.NOT_SERVING);
  return route(
    Health,
    {
      check(req: HealthCheckRequest) {
        if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
        return { status: current() };
      },
      list() {
        const status = current();
        return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
      },
      async *watch(req: HealthCheckRequest, ctx: HandlerContext) {
        let sent: Status | undefined;
        while (!ctx.signal.aborted) {
          const version = state.version;
          const status = known.has(req.service) ? current() : Status.SERVICE_UNKNOWN;
          if (status !== sent) {
            yield { status };
            sent = status;
          }
          await state.changedSince(version, ctx.signal);
        }
      },
    },
    "public",
  );
}
