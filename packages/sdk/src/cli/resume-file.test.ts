import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ResumeFile, belongsTo, parseResumeState, resumeFilePath, serializeResumeState } from "./resume-file.js";

describe("resume file", () => {
  it("round-trips resume state keyed by the account id, with bigints as strings, and rejects malformed files", async () => {
    const state = { syncVersion: 18446744073709551615n, cursors: new Map([["dm_1", 7n], ["dm_2", 0n]]), receiptsVersions: new Map([["dm_1", 12n]]) };
    const text = serializeResumeState("u_1", state);
    expect(JSON.parse(text)).toEqual({ userId: "u_1", syncVersion: "18446744073709551615", cursors: { dm_1: "7", dm_2: "0" }, receiptsVersions: { dm_1: "12" } });
    expect(parseResumeState(text)).toEqual({ owner: { userId: "u_1" }, state });
    for (const bad of [
      "[]",
      "{}",
      '{"syncVersion":"1","cursors":{}}',
      '{"userId":"","syncVersion":"1","cursors":{}}',
      '{"userId":"u","syncVersion":5,"cursors":{}}',
      '{"userId":"u","syncVersion":"-1","cursors":{}}',
      '{"userId":"u","syncVersion":"18446744073709551616","cursors":{}}',
      '{"userId":"u","syncVersion":"1","cursors":{"c":"x"}}',
      '{"userId":"u","syncVersion":"1","cursors":{},"receiptsVersions":[]}',
      '{"url":"u","syncVersion":"1","cursors":{},"receiptsVersions":{"c":3}}',
    ]) {
      expect(() => parseResumeState(bad), bad).toThrow();
    }

    const dir = mkdtempSync(join(tmpdir(), "messenger-resume-"));
    try {
      const path = resumeFilePath(join(dir, "nested"), "a/b", "dev ice");
      expect(path).toBe(join(dir, "nested", "a%2Fb@dev%20ice.resume.json"));
      const warnings: string[] = [];
      const file = new ResumeFile(path);
      expect(await file.load((w) => warnings.push(w))).toBeUndefined();
      await Promise.all([file.save("u_1", { syncVersion: 1n, cursors: new Map() }), file.save("u_1", state)]);
      expect(await new ResumeFile(path).load((w) => warnings.push(w))).toEqual({ owner: { userId: "u_1" }, state });
      expect(warnings).toEqual([]);
      writeFileSync(path, "{not json");
      expect(await new ResumeFile(path).load((w) => warnings.push(w))).toBeUndefined();
      expect(warnings).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("belongs to the same account id through any gateway, and to no other account or deployment", () => {
    const urls = ["http://gw1:50051", "http://gw2:50052"];
    expect(belongsTo({ userId: "u_1" }, "u_1", urls)).toBe(true);
    expect(belongsTo({ userId: "u_1" }, "u_1", ["http://elsewhere:1"])).toBe(true);
    // The same username on another deployment (or re-registered) has another id.
    expect(belongsTo({ userId: "u_1" }, "u_2", urls)).toBe(false);
  });

  it("reads a file saved by URL before account ids were kept: used through that URL only, and with no receipts versions when it predates them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "messenger-resume-"));
    try {
      const path = join(dir, "old.resume.json");
      writeFileSync(path, JSON.stringify({ url: "http://h:1", syncVersion: "41", cursors: { dm_1: "7" } }));
      const warnings: string[] = [];
      const saved = await new ResumeFile(path).load((w) => warnings.push(w));
      expect(saved).toEqual({ owner: { url: "http://h:1" }, state: { syncVersion: 41n, cursors: new Map([["dm_1", 7n]]), receiptsVersions: new Map() } });
      expect(warnings).toEqual([]);
      expect(belongsTo(saved!.owner, "u_1", ["http://other:2", "http://h:1"])).toBe(true);
      expect(belongsTo(saved!.owner, "u_1", ["http://other:2"])).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
