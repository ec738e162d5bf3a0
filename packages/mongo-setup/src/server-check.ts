import type { Document, MongoClient } from "mongodb";

/** MongoDB 5.0's wire version: snapshot reads outside transactions start there. */
export const minTransactionalWireVersion = 13;

/** The server's `hello` reply (`db.admin().command({ hello: 1 })`). */
export async function helloOf(client: MongoClient): Promise<Document> {
  return client.db("admin").command({ hello: 1 });
}

/** True when `hello` came from a mongos (a sharded cluster's router). */
export const helloIsMongos = (hello: Document): boolean => hello.msg === "isdbgrid";

/** True when the server is a mongos (a sharded cluster's router). */
export async function isMongos(client: MongoClient): Promise<boolean> {
  return helloIsMongos(await helloOf(client));
}

/**
 * What keeps the server that sent `hello` from running multi-document transactions and
 * snapshot reads, one line each; empty when it can. Transactions need a replica set member
 * (`setName`) or a mongos; snapshot reads need MongoDB 5.0 (`maxWireVersion` 13).
 */
export function transactionSupportProblems(hello: Document): string[] {
  const problems: string[] = [];
  if (!helloIsMongos(hello) && typeof hello.setName !== "string") {
    problems.push("it is a standalone server (not a replica set member or a mongos), which has no multi-document transactions (a replica set of one node is enough)");
  }
  const wire: unknown = hello.maxWireVersion;
  if (typeof wire !== "number" || wire < minTransactionalWireVersion) {
    problems.push(`it speaks wire version ${String(wire)}, older than MongoDB 5.0 (wire version ${minTransactionalWireVersion}), which snapshot reads need`);
  }
  return problems;
}

/** The server cannot give a service what it needs; nothing was written. */
export class UnsuitableMongoServerError extends Error {
  override readonly name = "UnsuitableMongoServerError";
  constructor(
    readonly who: string,
    readonly problems: readonly string[],
  ) {
    super(`${who} needs a MongoDB replica set or sharded cluster, version 5.0 or later (transactions and snapshot reads), and this server does not qualify: ${problems.join("; ")}`);
  }
}

/**
 * Refuses, before anything is written, a server on which `who` (the service, for the message)
 * could not run its transactions: a standalone mongod, or one older than 5.0. Without it the
 * service would start and fail on its first write.
 */
export function requireTransactions(hello: Document, who: string): void {
  const problems = transactionSupportProblems(hello);
  if (problems.length > 0) throw new UnsuitableMongoServerError(who, problems);
}

/** requireTransactions on the server `client` is connected to; returns its `hello` reply. */
export async function requireTransactionalServer(client: MongoClient, who: string): Promise<Document> {
  const hello = await helloOf(client);
  requireTransactions(hello, who);
  return hello;
}
