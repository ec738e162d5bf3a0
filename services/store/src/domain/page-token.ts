import { invalidArgument } from "./errors.js";

/**
 * Page tokens are opaque to callers: base64url of a small JSON tuple. `decode` refuses a
 * token that is not one of ours with INVALID_ARGUMENT.
 */
export function encodePageToken(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}

export function decodePageToken<T extends readonly ("string" | "number")[]>(token: string, shape: T): { [K in keyof T]: T[K] extends "string" ? string : number } {
  try {
    const parts = JSON.parse(Buffer.from(token, "base64url").toString()) as unknown;
    if (Array.isArray(parts) && parts.length === shape.length && parts.every((p, i) => typeof p === shape[i])) {
      return parts as { [K in keyof T]: T[K] extends "string" ? string : number };
    }
  } catch {
    // fall through to the error below
  }
  throw invalidArgument("invalid page_token");
}

/** A page size within 1..max, `fallback` when 0. */
export function clampPageSize(size: number, fallback: number, max: number): number {
  return Math.min(Math.max(size || fallback, 1), max);
}
