import { describe, expect, it } from "vitest";
import { segmentKey } from "./segment-index.js";

const sha = "0123456789abcdef".repeat(4);

describe("segmentKey", () => {
  it("names the conversation, the range and the content hash", () => {
    expect(segmentKey("grp_0a1b", 1, 1000, sha)).toBe("archive/v1/grp_0a1b/1-1000-0123456789abcdef.seg");
  });

  it("gives new content a new key, so a rewrite never replaces a segment being read", () => {
    expect(segmentKey("dm_1", 1, 1000, "f".repeat(64))).not.toBe(segmentKey("dm_1", 1, 1000, sha));
  });

  it("hex-encodes an id that is not a plain path segment, apart from every plain id", () => {
    expect(segmentKey("../a b", 1, 2, sha)).toBe(`archive/v1/x.${Buffer.from("../a b").toString("hex")}/1-2-0123456789abcdef.seg`);
    expect(segmentKey("x.2e2e", 1, 2, sha)).not.toBe(segmentKey("..", 1, 2, sha));
  });

  it("refuses a hash that is not 64 lower-case hex digits", () => {
    expect(() => segmentKey("dm_1", 1, 2, "ABC")).toThrow(TypeError);
  });
});
