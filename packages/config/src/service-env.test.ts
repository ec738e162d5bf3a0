import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv, serviceEnv, z } from "./index.js";

const schema = z.object(serviceEnv);

describe("the variables every service reads", () => {
  it("keep /metrics on the HTTP port and recycle internal connections every 30 s by default", () => {
    const env = parseEnv(schema, {});
    expect(env.METRICS_PORT).toBeUndefined();
    expect(env.INTERNAL_MAX_CONNECTION_AGE_MS).toBe(30_000);
    expect(env.INTERNAL_MAX_CONNECTION_AGE_GRACE_MS).toBe(10_000);
  });

  it("take a metrics port, and an empty one as unset", () => {
    expect(parseEnv(schema, { METRICS_PORT: "9090" }).METRICS_PORT).toBe(9090);
    expect(parseEnv(schema, { METRICS_PORT: "0" }).METRICS_PORT).toBe(0);
    expect(parseEnv(schema, { METRICS_PORT: "" }).METRICS_PORT).toBeUndefined();
  });

  it("turn recycling off with 0", () => {
    expect(parseEnv(schema, { INTERNAL_MAX_CONNECTION_AGE_MS: "0" }).INTERNAL_MAX_CONNECTION_AGE_MS).toBe(0);
  });

  it("refuse a bad metrics port, an age under a second and a zero grace, all at once", () => {
    let err: unknown;
    try {
      parseEnv(schema, { METRICS_PORT: "70000", INTERNAL_MAX_CONNECTION_AGE_MS: "200", INTERNAL_MAX_CONNECTION_AGE_GRACE_MS: "0" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    expect(problems).toContain("METRICS_PORT");
    expect(problems).toContain("INTERNAL_MAX_CONNECTION_AGE_MS: 0 (off) or at least 1000 ms");
    expect(problems).toContain("INTERNAL_MAX_CONNECTION_AGE_GRACE_MS");
  });
});
