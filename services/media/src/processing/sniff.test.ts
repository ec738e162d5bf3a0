import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { isSafeInline, sniffable, sniffType } from "./sniff.js";

const picture = () => sharp({ create: { width: 64, height: 48, channels: 3, background: "#3a7" } });

/** The first 64 bytes of an x86-64 ELF executable header: magic, class, data, version, e_type EXEC. */
function elfHeader(): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  b.set([2, 0, 0x3e, 0, 1, 0, 0, 0], 16);
  return b;
}

describe("sniffType", () => {
  it("takes the type from the bytes: PNG bytes are image/png whatever they were called", async () => {
    const png = await picture().png().toBuffer();
    expect(await sniffType(png.subarray(0, sniffable()))).toEqual({ mimeType: "image/png", kind: "image", executable: false });
  });

  it.each([
    ["jpeg", "image/jpeg"],
    ["webp", "image/webp"],
    ["gif", "image/gif"],
    ["avif", "image/avif"],
  ] as const)("detects %s as an image", async (format, mimeType) => {
    const bytes = await picture().toFormat(format).toBuffer();
    expect(await sniffType(bytes)).toEqual({ mimeType, kind: "image", executable: false });
  });

  it("reports an ELF binary as executable and hides its type behind application/octet-stream", async () => {
    expect(await sniffType(elfHeader())).toEqual({ mimeType: "application/octet-stream", kind: "file", executable: true });
  });

  it("reports a Windows PE (MZ) and a shebang script as executable", async () => {
    const mz = new Uint8Array(128);
    mz.set([0x4d, 0x5a]);
    expect((await sniffType(mz)).executable).toBe(true);
    expect(await sniffType(new TextEncoder().encode("#!/bin/sh\nrm -rf /\n"))).toEqual({ mimeType: "application/octet-stream", kind: "file", executable: true });
  });

  it("keeps a known non-image type as a file with its mime type", async () => {
    const pdf = new TextEncoder().encode("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    expect(await sniffType(pdf)).toEqual({ mimeType: "application/pdf", kind: "file", executable: false });
  });

  it("calls random bytes application/octet-stream", async () => {
    // Fixed bytes with no known magic (a random draw could, rarely, start with one).
    const bytes = Uint8Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 251);
    expect(await sniffType(bytes)).toEqual({ mimeType: "application/octet-stream", kind: "file", executable: false });
  });

  it.each([
    ["SVG", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ["SVG with an XML declaration", '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ["HTML", "<!doctype html><html><script>alert(1)</script></html>"],
  ])("never types %s as an image or a document a browser would run", async (_, text) => {
    const sniffed = await sniffType(new TextEncoder().encode(text));
    expect(sniffed).toEqual({ mimeType: "application/octet-stream", kind: "file", executable: false });
    expect(isSafeInline(sniffed.mimeType)).toBe(false);
  });
});
