import { describe, expect, it } from "vitest";
import { LineLimit, pasteEnd, pasteStart } from "./line-limit.js";

describe("LineLimit", () => {
  it("passes lines up to the limit as they are, in any chunks", () => {
    const limit = new LineLimit({ maxChars: 5, lineEnd: "\n" });
    expect(limit.feed("hello\nwor")).toBe("hello\nwor");
    expect(limit.feed("ld\r\n")).toBe("ld\r\n");
    expect(limit.feed("12345\r")).toBe("12345\r");
  });

  it("ends a line one character past the limit and drops the rest of it, up to its end", () => {
    const limit = new LineLimit({ maxChars: 5, lineEnd: "\r" });
    expect(limit.feed("abcdefghij")).toBe("abcdef\r");
    expect(limit.droppingUntilLineEnd).toBe(true);
    expect(limit.feed("klmno")).toBe("");
    expect(limit.feed("pq\r\nnext\n")).toBe("next\n");
    expect(limit.droppingUntilLineEnd).toBe(false);
    // Two long lines and a short one in one chunk.
    expect(limit.feed("1234567\n7654321\nok\n")).toBe("123456\r765432\rok\n");
  });

  it("ends the dropping with the paste the long line came in, and removes the paste markers", () => {
    const limit = new LineLimit({ maxChars: 3, lineEnd: "\r" });
    expect(limit.feed(`${pasteStart}abcdefgh`)).toBe("abcd\r");
    // Dropping, but only to the end of the paste.
    expect(limit.droppingUntilLineEnd).toBe(false);
    // A marker split over two chunks is still recognised.
    expect(limit.feed("ijk\x1b[20")).toBe("");
    expect(limit.feed("1~hi")).toBe("hi");
    expect(limit.feed(`${pasteStart}a${pasteEnd}\r`)).toBe("a\r");
  });

  it("keeps Ctrl-C inside a dropped line", () => {
    const limit = new LineLimit({ maxChars: 2, lineEnd: "\r", keep: "\x03" });
    expect(limit.feed("abcdef\x03ghi")).toBe("abc\r\x03");
  });

  it("asks the reader for the real length once editing keys make the line look too long", () => {
    let held = 0;
    const limit = new LineLimit({ maxChars: 4, lineEnd: "\r", lineLength: () => held });
    // "ab", backspace twice: the reader holds nothing, the count says 4.
    expect(limit.feed("ab\x7f\x7f")).toBe("ab\x7f\x7f");
    held = 0;
    expect(limit.feed("wxyz")).toBe("wxyz");
    held = 4;
    expect(limit.feed("!")).toBe("!\r");
  });

  it("reads a megabyte in one pass", () => {
    const limit = new LineLimit({ maxChars: 16_384, lineEnd: "\r" });
    const start = performance.now();
    const out = limit.feed(`${"x".repeat(1_000_000)}\rafter\r`);
    expect(performance.now() - start).toBeLessThan(1_000);
    expect(out).toBe(`${"x".repeat(16_385)}\rafter\r`);
  });
});
