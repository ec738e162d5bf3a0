import { runFrameFuzz, spawnSystem } from "@messenger/testing";
import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";

/**
 * The frame fuzzer at length: mutated Session frames and unary requests (bit flips,
 * truncations, inserted and random bytes, broken gRPC length prefixes and flags) against
 * the one-process system on both ports. Every input must be answered with a gRPC status and
 * the server must stay up; the figures are the inputs tried and the failures of each kind,
 * with the tests' short run (300 inputs) as the baseline.
 */
export async function fuzz(ctx: ScenarioContext): Promise<Figure[]> {
  const runs = ctx.quick ? 2_000 : 20_000;
  const tried: number[] = [];
  const crashes: number[] = [];
  const withoutStatus: number[] = [];
  for (let round = 0; round < ctx.rounds; round++) {
    const sys = await spawnSystem({ LOG_LEVEL: "error" });
    let exited = false;
    sys.child.once("exit", () => (exited = true));
    try {
      const report = await runFrameFuzz({ grpcPort: sys.grpcPort, httpPort: sys.httpPort, alive: () => !exited }, { runs, username: `fuzz${round}`, seed: round });
      ctx.log(`fuzz round ${round + 1}: ${report.tried} inputs, answers by gRPC code ${JSON.stringify(Object.fromEntries(report.byCode))}, without a status ${report.withoutStatus}, crashes ${report.crashes}${report.failure ? `\n${report.failure}` : ""}`);
      tried.push(report.tried);
      crashes.push(report.crashes + (exited ? 1 : 0));
      withoutStatus.push(report.withoutStatus);
    } finally {
      await sys.stop();
    }
  }
  const figure = (name: string, rounds: number[], note: string): Figure => ({ scenario: "fuzz", name, unit: "inputs", rounds, cpu: {}, note });
  return [
    { ...figure("inputs tried", tried, "mutated Session frames and unary requests, both ports"), baseline: { name: "tests' run", value: 300 } },
    figure("crashes", crashes, "must be 0"),
    figure("answers without a gRPC status", withoutStatus, "must be 0"),
  ];
}
