import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ResumeFile, parseResumeState, resumeFilePath, serializeResumeState } from "./resume-file.js";

describe("resume file", () => {
  it("round-trips resume state with bigints as strings and rejects malformed files", async () => {
    const state = { syncVersion: 18446744073709551615n, cursors: new Map([["dm_1", 7n], ["dm_2", 0n]]), receiptsVersions: new Map([["dm_1", 12n]]) };
    const text = serializeResumeState("http://h:1", state);
    expect(JSON.parse(text)).toEqual({ url: "http://h:1", syncVersion: "18446744073709551615", cursors: { dm_1: "7", dm_2: "0" }, receiptsVersions: { dm_1: "12" } });
    expect(parseResumeState(text)).toEqual({ url: "http://h:1", state });
    for (const bad of [
      "[]",
      "{}",
      '{"url":"u","syncVersion":5,"cursors":{}}',
      '{"url":"u","syncVersion":"-1","cursors":{}}',
      '{"url":"u","syncVersion":"18446744073709551616","cursors":{}}',
      '{"url":"u","syncVersion":"1","cursors":{"c":"x"}}',
      '{"url":"u","syncVersion":"1","cursors":{},"receiptsVersions":[]}',
      '{"url":"u","syncVersion":"1","cursors":{},"receiptsVersions":{"c":3}}',
    ]) {
      expect(() => parseResumeState(bad), bad).toThrow();
    }

    const dir = mkdtempSync(join(tmpdir(), "messenger-resume-"));
    try {
      const path = resumeFilePath(join(dir, "nested"), "a/b", "dev ice");
      expect(path).toBe(join(dir, "nested", "a%2Fb@dev%20ice.resume.json"));
      const warnings: string[] = [];
      const file = new ResumeFile(path, "http://h:1");
      expect(await file.load((w) => warnings.push(w))).toBeUndefined();
      await Promise.all([file.save({ syncVersion: 1n, cursors: new Map() }), file.save(state)]);
      expect(await new ResumeFile(path, "http://h:1").load((w) => warnings.push(w))).toEqual(state);
      expect(warnings).toEqual([]);
      expect(await new ResumeFile(path, "http://other:1").load((w) => warnings.push(w))).toBeUndefined();
      writeFileSync(path, "{not json");
      expect(await new ResumeFile(path, "http://h:1").load((w) => warnings.push(w))).toBeUndefined();
      expect(warnings).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads a file saved before receipts versions existed, with none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "messenger-resume-"));
    try {
      const path = join(dir, "old.resume.json");
      writeFileSync(path, JSON.stringify({ url: "http://h:1", syncVersion: "41", cursors: { dm_1: "7" } }));
      const warnings: string[] = [];
      expect(await new ResumeFile(path, "http://h:1").load((w) => warnings.push(w))).toEqual({
        syncVersion: 41n,
        cursors: new Map([["dm_1", 7n]]),
        receiptsVersions: new Map(),
      });
      expect(warnings).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
