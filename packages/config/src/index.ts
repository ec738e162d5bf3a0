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

/** Variables every service process reads; each service adds its own. */
export const serviceEnv = {
  HOST: z.string().min(1).default("127.0.0.1"),
  GRPC_PORT: port(0),
  INTERNAL_GRPC_PORT: port(0),
  HTTP_PORT: port(0),
  MAX_FRAME_BYTES: positiveInt(256 * 1024),
  SHUTDOWN_GRACE_MS: positiveInt(5_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
};

/** An http(s) URL of a peer service, e.g. http://127.0.0.1:7002. */
export const serviceUrl = () => z.string().url();

/** A nats:// URL (or several, comma separated). */
export const natsUrl = () => z.string().regex(/^(nats|tls):\/\/[^,\s]+(,(nats|tls):\/\/[^,\s]+)*$/, "expected nats://host:port");
