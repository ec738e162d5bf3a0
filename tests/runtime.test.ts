import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("the runtime", () => {
  it.skipIf(process.env.MESSENGER_NODE === "system")("is the Node.js major that .node-version names (npm test fetches it when the machine has another)", () => {
    const wanted = readFileSync(new URL("../.node-version", import.meta.url), "utf8").trim();
    expect(process.versions.node.split(".")[0]).toBe(wanted);
  });
});
