// npm run bench [-- --quick] [-- --scenario idle,chat,group,storm,presence,auth-storm,fuzz,chaos,media,history,push] [-- --rounds N]
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { renderComparison, renderTable, type Figure } from "./report.js";
import type { ScenarioContext } from "./scenario.js";
import { scenarios } from "./scenarios/index.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    scenario: { type: "string" },
    rounds: { type: "string" },
    out: { type: "string", default: "bench-results" },
  },
});
const quick = values.quick ?? false;
const selected = values.scenario ? values.scenario.split(",") : Object.keys(scenarios);
for (const s of selected) {
  if (!(s in scenarios)) {
    console.error(`unknown scenario ${s}; choose from ${Object.keys(scenarios).join(", ")}`);
    process.exit(2);
  }
}
const ctx: ScenarioContext = {
  quick,
  rounds: Number(values.rounds ?? (quick ? 2 : 5)),
  log: (line) => console.error(`  … ${line}`),
};
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(`messenger bench (${quick ? "quick" : "full"}) on ${machine}\n`);
const byScenario = new Map<string, Figure[]>();
const started = Date.now();
for (const name of selected) {
  console.error(`scenario ${name} ...`);
  const t0 = Date.now();
  byScenario.set(name, await scenarios[name]!(ctx));
  console.error(`scenario ${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
// Printed in the scenarios' own order (idle, chat, group, storm, presence, auth-storm) whatever the order run, so
// the group figures always sit right after the 1:1 chat figures of the same run.
const figures = Object.keys(scenarios).flatMap((name) => byScenario.get(name) ?? []);
console.log(renderTable(figures));
const comparison = renderComparison(figures);
if (comparison) console.log(`\n1:1 chat and groups, same run (median [min..max]; latency: 1:1 send→deliver, group send→last member):\n${comparison}`);
mkdirSync(values.out!, { recursive: true });
const file = join(values.out!, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ machine, quick, seconds: (Date.now() - started) / 1000, figures }, null, 2));
console.log(`\nresults written to ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exit(0);
