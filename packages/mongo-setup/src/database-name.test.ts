import { describe, expect, it } from "vitest";
import { databaseOf } from "./database-name.js";

describe("mongo database name", () => {
  it("is the connection string's path, else messenger", () => {
    expect(databaseOf("mongodb://a:1,b:2/history?replicaSet=rs0")).toBe("history");
    expect(databaseOf("mongodb+srv://user:p%2Fw@cluster.example/prod")).toBe("prod");
    expect(databaseOf("mongodb://user:p%2Fw@host/my%20db")).toBe("my db");
    expect(databaseOf("mongodb+srv://user:p%2Fw@cluster.example/")).toBe("messenger");
    expect(databaseOf("mongodb://localhost:27017")).toBe("messenger");
    expect(databaseOf("mongodb://localhost:27017/?directConnection=true")).toBe("messenger");
  });
});
