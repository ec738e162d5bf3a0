import { describe, expect, it } from "vitest";
import { ConfigError, jetstreamReplicas, parseEnv, z } from "./index.js";

const schema = z.object({ NATS_JETSTREAM_REPLICAS: jetstreamReplicas() });

describe("NATS_JETSTREAM_REPLICAS", () => {
  it("is 1 when unset, for a single NATS server", () => {
    expect(parseEnv(schema, {}).NATS_JETSTREAM_REPLICAS).toBe(1);
  });

  it("takes 3 for a 3-node NATS cluster", () => {
    expect(parseEnv(schema, { NATS_JETSTREAM_REPLICAS: "3" }).NATS_JETSTREAM_REPLICAS).toBe(3);
  });

  it("refuses what JetStream cannot keep, saying what it expects", () => {
    for (const value of ["0", "6", "2.5", "three", ""]) {
      let err: unknown;
      try {
        parseEnv(schema, { NATS_JETSTREAM_REPLICAS: value });
      } catch (e) {
        err = e;
      }
      expect(err, value).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        "NATS_JETSTREAM_REPLICAS: expected a whole number of JetStream replicas from 1 to 5 (1 for one NATS server, 3 for a 3-node NATS cluster)",
      ]);
    }
  });
});
