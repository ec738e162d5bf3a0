// npm run synth: writes the Helm chart charts/messenger from the cdk8s app in deploy/.
import { fileURLToPath } from "node:url";
import { synthChart } from "./synth.js";

const out = fileURLToPath(new URL("../../charts/messenger", import.meta.url));
synthChart(out);
console.log(`synth: wrote ${out}`);
