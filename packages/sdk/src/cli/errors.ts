import { Code, ConnectError } from "@connectrpc/connect";

/** One line for an error: the gRPC code name and the server's message for RPC errors. */
export function describeError(err: unknown): string {
  if (err instanceof ConnectError) return `${codeName(err.code)}: ${oneLine(err.rawMessage)}`;
  if (err instanceof Error) return oneLine(err.message);
  return oneLine(String(err));
}

/** The name of a gRPC code, e.g. NotFound; the number when it is not a known code. */
export function codeName(code: number): string {
  return Code[code] ?? `code ${code}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim();
}
