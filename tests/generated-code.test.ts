import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` };
const out = mkdtempSync(join(tmpdir(), "messenger-gen-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): Map<string, string> {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return new Map(entries.map((e) => [relative(dir, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name), "utf8")]));
}

describe("the API schema", () => {
  it("passes buf lint (STANDARD and comment rules)", () => {
    expect(() => execFileSync(join(bin, "buf"), ["lint"], { cwd: root, env, stdio: "pipe" })).not.toThrow();
  });

  it("matches the committed generated code (run `npm run gen` after changing a .proto)", () => {
    const template = JSON.stringify({
      version: "v2",
      plugins: [{ local: "protoc-gen-es", out, opt: ["target=ts", "import_extension=js"] }],
    });
    execFileSync(join(bin, "buf"), ["generate", "--template", template], { cwd: root, env, stdio: "pipe" });
    const fresh = files(out);
    const committed = files(join(root, "packages/proto/gen"));
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, text] of fresh) expect(committed.get(path), path).toBe(text);
  });
});
