import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";

/**
 * Absolute path of the repository's proto/ directory, the source of the generated code (for
 * tests and tools; the services need only the generated code, and the production tree ships
 * no proto/). This file is src/index.ts in the sources and dist/src/index.js once built.
 */
export const protoRoot: string = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "../../../proto" : "../../../../proto", import.meta.url));

/** Every .proto file under protoRoot, as paths relative to it (for proto-loader and protoc). */
export function protoFiles(): string[] {
  const entries = readdirSync(protoRoot, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".proto"))
    .map((e) => relative(protoRoot, join(e.parentPath, e.name)))
    .sort();
}
