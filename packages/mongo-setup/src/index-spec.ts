import { BSON, type Document } from "mongodb";
import type { MongoIndexLayout } from "./collection-layout.js";

type IndexOption = Exclude<keyof MongoIndexLayout, "name" | "key">;

const flag = (v: unknown): boolean => v === true || v === 1;
const asIs = (v: unknown): unknown => v;

/**
 * Every option a layout can state, with how the server's form of it reads: `unique: false`
 * and no `unique` are the same index. A Record, so that an option added to MongoIndexLayout
 * does not compile until it is compared here.
 */
const options: Readonly<Record<IndexOption, (v: unknown) => unknown>> = {
  unique: flag,
  sparse: flag,
  expireAfterSeconds: asIs,
  partialFilterExpression: asIs,
};

/** Object keys sorted at every level: two filters that differ only in field order are the same filter. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => [k, sortedKeys(x)]),
  );
}

/**
 * One text per value as the server means it. Relaxed EJSON first, so that an Int32, a Long and
 * a double of the same value (the server may keep 0 as any of them) read alike.
 */
function canonical(v: unknown, orderMatters: boolean): string {
  if (v === undefined) return "none";
  const plain: unknown = BSON.EJSON.serialize(v, { relaxed: true });
  return JSON.stringify(orderMatters ? plain : sortedKeys(plain));
}

/**
 * How the index the server holds under `wanted.name` (a `listIndexes` entry) differs from the
 * layout's, in words; undefined when it is the same index. The key is compared in order (it
 * is the index's order), then every option a layout can state.
 */
export function indexDifference(wanted: MongoIndexLayout, existing: Document): string | undefined {
  const key = canonical(existing.key, true);
  const wantedKey = canonical(wanted.key, true);
  if (key !== wantedKey) return `key ${key}, not ${wantedKey}`;
  const differences: string[] = [];
  for (const [option, read] of Object.entries(options)) {
    const have = canonical(read(existing[option]), false);
    const want = canonical(read(wanted[option as IndexOption]), false);
    if (have !== want) differences.push(`${option} ${have}, not ${want}`);
  }
  return differences.length > 0 ? differences.join(" and ") : undefined;
}

/** The index document `listIndexes` returns for an index created from `ix` (as far as the planner reads it). */
export function indexSpecOf(ix: MongoIndexLayout): Document {
  return { v: 2, ...ix };
}
