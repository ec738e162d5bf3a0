import { DomainError } from "@messenger/rpc/domain-error";

/** One page of a list; nextPageToken is empty on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string;
}

const defaultPageSize = 100;
const maxPageSize = 500;

/** A page size within 1..500, 100 when 0. */
export function pageSizeOf(requested: number): number {
  return Math.min(Math.max(requested || defaultPageSize, 1), maxPageSize);
}

/**
 * Page tokens are opaque to callers: base64url of a JSON tuple whose first element names the
 * list, so a token of one list is refused by another with INVALID_ARGUMENT.
 */
export function encodePageToken(list: string, parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([list, ...parts])).toString("base64url");
}

export function decodePageToken<T extends readonly ("string" | "number")[]>(list: string, token: string, shape: T): { [K in keyof T]: T[K] extends "string" ? string : number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString()) as unknown;
    if (Array.isArray(parsed) && parsed[0] === list) {
      const parts: unknown[] = parsed.slice(1);
      if (parts.length === shape.length && parts.every((p, i) => typeof p === shape[i])) {
        return parts as { [K in keyof T]: T[K] extends "string" ? string : number };
      }
    }
  } catch {
    // not JSON: refused below like any other foreign token
  }
  throw new DomainError("invalid_argument", "invalid page_token");
}

/**
 * Cuts a page from rows fetched with one extra row: the extra row's presence says another
 * page follows, whose token is made from the last row kept.
 */
export function pageOf<T>(rows: T[], size: number, tokenAfter: (last: T) => string): Page<T> {
  if (rows.length <= size) return { items: rows, nextPageToken: "" };
  const items = rows.slice(0, size);
  return { items, nextPageToken: tokenAfter(items[items.length - 1]!) };
}
