import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFrameFuzz, spawnSystem, type SystemProcess } from "@messenger/testing";

// A short run on every test; `npm run bench -- --scenario fuzz` runs thousands.
const runs = Number(process.env.FUZZ_RUNS ?? 300);

describe("frame fuzzer", () => {
  let system: SystemProcess;
  let exited = false;
  beforeAll(async () => {
    system = await spawnSystem();
    system.child.once("exit", () => (exited = true));
  });
  afterAll(async () => {
    await system.stop();
  });

  it(`answers ${runs} mutated Session frames and unary requests on both ports with a gRPC status, and never dies`, async () => {
    const report = await runFrameFuzz(
      { grpcPort: system.grpcPort, httpPort: system.httpPort, alive: () => !exited },
      { runs, username: "fuzzer" },
    );
    console.log(`frame fuzzer: ${report.tried} inputs, by status ${JSON.stringify(Object.fromEntries(report.byCode))}, without a status ${report.withoutStatus}, crashes ${report.crashes}`);
    expect(report.failure).toBeUndefined();
    expect({ crashes: report.crashes, withoutStatus: report.withoutStatus }).toEqual({ crashes: 0, withoutStatus: 0 });
    expect(report.tried).toBeGreaterThanOrEqual(runs);
    // The seeds are valid: some cases must still be answered OK, or the fuzzer only ever
    // tested the first parsing step.
    expect(report.byCode.get(0) ?? 0).toBeGreaterThan(0);
    expect(exited).toBe(false);
  }, 120_000);
});
