import { describe, expect, it } from "vitest";
import { helloIsMongos, requireTransactions, transactionSupportProblems, UnsuitableMongoServerError } from "./server-check.js";

// `hello` replies as the servers send them (the fields the check reads, and some it ignores).
const common = { isWritablePrimary: true, maxBsonObjectSize: 16_777_216, maxMessageSizeBytes: 48_000_000, minWireVersion: 0, readOnly: false, ok: 1 };
const replicaSet70 = { ...common, setName: "rs0", setVersion: 1, hosts: ["db-0:27017"], primary: "db-0:27017", me: "db-0:27017", maxWireVersion: 21 };
const mongos60 = { ...common, msg: "isdbgrid", maxWireVersion: 17 };
const standalone70 = { ...common, maxWireVersion: 21 };
const replicaSet44 = { ...replicaSet70, maxWireVersion: 9 };

describe("mongo server check", () => {
  it("accepts a replica set member and a mongos of MongoDB 5.0 or later", () => {
    expect(transactionSupportProblems(replicaSet70)).toEqual([]);
    expect(transactionSupportProblems(mongos60)).toEqual([]);
    expect(transactionSupportProblems({ ...replicaSet70, maxWireVersion: 13 })).toEqual([]);
    expect(() => requireTransactions(mongos60, "accounts")).not.toThrow();
  });

  it("refuses a standalone server: it has no transactions", () => {
    expect(transactionSupportProblems(standalone70)).toEqual([expect.stringMatching(/^it is a standalone server \(not a replica set member or a mongos\), which has no multi-document transactions/)]);
  });

  it("refuses a server older than 5.0 (no snapshot reads), and one that does not say its version", () => {
    expect(transactionSupportProblems(replicaSet44)).toEqual(["it speaks wire version 9, older than MongoDB 5.0 (wire version 13), which snapshot reads need"]);
    expect(transactionSupportProblems({ ...mongos60, maxWireVersion: 12 })).toHaveLength(1);
    const { maxWireVersion: _, ...silent } = replicaSet70;
    expect(transactionSupportProblems(silent)).toEqual([expect.stringContaining("wire version undefined")]);
  });

  it("names the service and everything wrong in one error", () => {
    const standalone44 = { ...standalone70, maxWireVersion: 9 };
    let error: unknown;
    try {
      requireTransactions(standalone44, "the accounts service");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnsuitableMongoServerError);
    const refused = error as UnsuitableMongoServerError;
    expect(refused.problems).toHaveLength(2);
    expect(refused.message).toMatch(/^the accounts service needs a MongoDB replica set or sharded cluster, version 5\.0 or later .*: it is a standalone server.*; it speaks wire version 9/);
  });

  it("tells a mongos by its hello", () => {
    expect(helloIsMongos(mongos60)).toBe(true);
    expect(helloIsMongos(replicaSet70)).toBe(false);
  });
});
