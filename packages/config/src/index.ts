import { z } from "zod";

export { z } from "zod";

/** Raised when the environment does not satisfy a service's schema; lists every problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment once, at boot, against a schema whose keys are the variable
 * names. Every problem is reported together rather than one per restart.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`));
}

/** A TCP port from a string: 0 (pick a free one) to 65535. */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** A positive integer from a string. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** A non-negative integer from a string (0 typically turns a feature off). */
export const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** A TCP port from a string, or undefined when unset or empty. */
export const optionalPort = () => z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(0).max(65535).optional());

/** Variables every service process reads; each service adds its own. */
export const serviceEnv = {
  HOST: z.string().min(1).default("127.0.0.1"),
  GRPC_PORT: port(0),
  INTERNAL_GRPC_PORT: port(0),
  HTTP_PORT: port(0),
  // Set (the chart uses 9090): /metrics and /readyz move off HTTP_PORT to a listener of their own.
  METRICS_PORT: optionalPort(),
  // Peers' connections to INTERNAL_GRPC_PORT are recycled at this age (GOAWAY, ± 10 %), so
  // callers re-resolve the name and reach replicas added since; 0 keeps them for good. Calls
  // caught by a recycle are retried once by grpc-js; ages under a second would let a retry
  // meet the next recycle.
  INTERNAL_MAX_CONNECTION_AGE_MS: nonNegativeInt(30_000).refine((ms) => ms === 0 || ms >= 1_000, "0 (off) or at least 1000 ms"),
  // At least a peer call's deadline (10 s), so that no call is cut by a recycle.
  INTERNAL_MAX_CONNECTION_AGE_GRACE_MS: positiveInt(10_000),
  MAX_FRAME_BYTES: positiveInt(256 * 1024),
  SHUTDOWN_GRACE_MS: positiveInt(5_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
};

/** An http(s) URL of a peer service, e.g. http://127.0.0.1:7002. */
export const serviceUrl = () => z.string().url();

/** A nats:// URL (or several, comma separated). */
export const natsUrl = () => z.string().regex(/^(nats|tls):\/\/[^,\s]+(,(nats|tls):\/\/[^,\s]+)*$/, "expected nats://host:port");

/**
 * NATS_JETSTREAM_REPLICAS: how many servers keep a copy of every JetStream stream and KV
 * bucket a service creates, 1 (one NATS server) to 5 (the JetStream maximum). A NATS cluster
 * of three sets 3, so state outlives one NATS pod and its volume; it cannot exceed the
 * cluster's JetStream servers (the server refuses to place the copies).
 */
export const jetstreamReplicas = () => {
  const error = "expected a whole number of JetStream replicas from 1 to 5 (1 for one NATS server, 3 for a 3-node NATS cluster)";
  return z.coerce.number({ error }).int({ error }).min(1, { error }).max(5, { error }).default(1);
};
