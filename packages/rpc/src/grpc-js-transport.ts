import { isIP } from "node:net";
import { create, fromBinary, toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport, type Transport } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";

const passthrough = (b: Buffer): Buffer => b;

/** How a grpc-js transport reaches its peer. */
export interface GrpcJsTransportOptions {
  /** Deadline of a call that sets none. */
  readonly defaultTimeoutMs?: number;
  /**
   * Least time between two DNS resolutions of the peer's name. A resolution runs when a
   * connection ends (a server's max connection age, a pod gone); grpc-js's default (30 s)
   * would leave a caller on the old address list that long after a scale-up. Default 5 s.
   */
  readonly minResolutionIntervalMs?: number;
}

/**
 * The channel's service config: round_robin keeps a connection to every address the name
 * resolves to and spreads calls over them. With a headless Service the name resolves to
 * every ready pod, so replicas share the load; pick_first (grpc-js's default) would pin each
 * caller to one pod for the life of its process.
 */
const roundRobin = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

/**
 * A Connect Transport whose unary calls run on a @grpc/grpc-js client channel: the same
 * generated clients, about half the CPU per call of connect-node's HTTP/2 client on both
 * ends (measured with `npm run bench` tooling on this machine). Service-to-service calls
 * are unary; streaming methods are refused.
 *
 * A host name is resolved by grpc-js's DNS resolver and calls are balanced round-robin over
 * every address it yields (an IP literal is one address: pick_first), re-resolved when a
 * connection ends, so a server that recycles its connections (max connection age) lets
 * callers find replicas added since.
 */
export function createGrpcJsTransport(baseUrl: string, opts: GrpcJsTransportOptions = {}): Transport & { close(): void } {
  const url = new URL(baseUrl);
  const common = {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
    // No channelz service is served; its per-call bookkeeping is wasted.
    "grpc.enable_channelz": 0,
  };
  // One address (an IP literal: one process, the local cluster): pick_first, which goes idle
  // when its connection drops and reconnects on the next call, so a peer restarted on the
  // same port answers at once. round_robin would reconnect in the background on its backoff
  // and fail calls meanwhile.
  const client = isIP(url.hostname.replace(/^\[|\]$/g, ""))
    ? new grpc.Client(url.host, grpc.credentials.createInsecure(), common)
    : new grpc.Client(`dns:///${url.host}`, grpc.credentials.createInsecure(), {
        ...common,
        "grpc.service_config": roundRobin,
        // A peer's config is ours, not a DNS TXT record's: no TXT lookup on every resolution.
        "grpc.service_config_disable_resolution": 1,
        "grpc.dns_min_time_between_resolutions_ms": opts.minResolutionIntervalMs ?? 5_000,
        // A pod restarted (its only replica, or all of them) is tried again soon: round_robin
        // fails calls while every address waits out its reconnect backoff.
        "grpc.initial_reconnect_backoff_ms": 250,
        "grpc.max_reconnect_backoff_ms": 2_000,
      });
  const unsupported = createRouterTransport(() => {});
  const unary = ((method: DescMethodUnary<DescMessage, DescMessage>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: Parameters<Transport["unary"]>[3], input: unknown) => {
    const md = new grpc.Metadata();
    new Headers(header).forEach((v, k) => md.set(k, v));
    const request = Buffer.from(toBinary(method.input, create(method.input, input as never)));
    const timeout = timeoutMs ?? opts.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(ConnectError.from(signal.reason, Code.Canceled));
      const responseHeader = new Headers();
      const call = client.makeUnaryRequest(
        `/${method.parent.typeName}/${method.name}`,
        passthrough,
        passthrough,
        request,
        md,
        timeout !== undefined ? { deadline: Date.now() + timeout } : {},
        (err, bytes) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) {
            const trailer = new Headers();
            for (const [k, v] of Object.entries(err.metadata?.getMap() ?? {})) {
              if (typeof v === "string") trailer.set(k, v);
              else if (k.endsWith("-bin")) trailer.set(k, v.toString("base64"));
            }
            // The details of the status (a RetryInfo, say) come back with it.
            const withDetails = err.metadata?.get("grpc-status-details-bin").length ? findTrailerError(new Headers({ ...Object.fromEntries(trailer), "grpc-status": String(err.code), "grpc-message": encodeURIComponent(err.details ?? "") })) : undefined;
            const failure = new ConnectError(err.details || err.message, err.code as number as Code, trailer);
            if (withDetails) failure.details.push(...withDetails.details);
            return reject(failure);
          }
          try {
            const message = fromBinary(method.output, bytes!);
            resolve({ stream: false as const, service: method.parent, method, header: responseHeader, trailer: new Headers(), message });
          } catch (e) {
            reject(new ConnectError(`malformed ${method.output.typeName}: ${String(e)}`, Code.Internal));
          }
        },
      );
      call.on("metadata", (m: grpc.Metadata) => {
        for (const [k, v] of Object.entries(m.getMap())) if (typeof v === "string") responseHeader.set(k, v);
      });
      const onAbort = (): void => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }) as unknown as Transport["unary"];
  return { unary, stream: (...args) => unsupported.stream(...args), close: () => client.close() };
}
