import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliWorld } from "./cli-harness.js";
import { safeFileName } from "./media-commands.js";
import { ProgressBar, type ProgressOutput } from "./progress-bar.js";

let world: CliWorld;
let work: string;
const cli = (...args: string[]) => world.cli(args);

/** A regexp matching `s` literally. */
function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

beforeAll(async () => {
  world = await CliWorld.start("cli-media-home", ["mia", "noah"]);
  work = mkdtempSync(join(tmpdir(), "messenger-cli-media-"));
}, 60_000);

afterAll(async () => {
  await world?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("chat CLI media", { timeout: 90_000 }, () => {
  it("sends an image and a file with progress, shows them to the peer, who saves them; refusals are one line", async () => {
    const png = join(work, "dot.png");
    writeFileSync(png, await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 40, b: 40 } } }).png().toBuffer());
    const notes = join(work, "notes.txt");
    writeFileSync(notes, "meeting at 10, room 4\n");
    const out = join(work, "downloads", "new");

    const mia = cli("chat", "mia", "noah", "--device", "laptop");
    const noah = cli("chat", "noah", "mia", "--device", "laptop");
    await Promise.all([mia.waitFor(/-- connected/), noah.waitFor(/-- connected/)]);
    mia.writeLine("/add noah");
    await mia.waitFor(/^-- asked noah to be a contact$/m);
    noah.writeLine("/accept mia");
    await noah.waitFor(/^-- mia is a contact now$/m);

    mia.writeLine(`/image ${png}`);
    await mia.waitFor(/^\[1\] me: \[image 40×30 dot\.png, \d+ B\] ✓$/m);
    await noah.waitFor(/^\[1\] mia: \[image 40×30 dot\.png, \d+ B\]$/m);
    // On a pipe, a few progress lines, not one per chunk: 0% and 100% at least.
    const progress = mia.stdout.split("\n").filter((l) => l.startsWith("uploading dot.png "));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(3);
    expect(progress[0]).toMatch(/^uploading dot\.png \[\.{18}\] 0% 0 B\/\d+ B$/);
    expect(progress.at(-1)).toMatch(/^uploading dot\.png \[#{18}\] 100% (\d+) B\/\1 B$/);

    mia.writeLine(`/file ${notes}`);
    await noah.waitFor(/^\[2\] mia: \[file notes\.txt, 22 B\]$/m);
    await mia.waitFor(/^\[2\] me: \[file notes\.txt, 22 B\] ✓$/m);
    mia.writeLine("that was all");
    await noah.waitFor(/^\[3\] mia: that was all$/m);

    noah.writeLine(`/save 2 ${out}`);
    await noah.waitFor(new RegExp(`^-- saved ${literal(join(out, "notes.txt"))} \\(22 B\\)$`, "m"));
    expect(readFileSync(join(out, "notes.txt"))).toEqual(readFileSync(notes));
    // Saved again: a second name, the first file untouched.
    noah.writeLine(`/save 2 ${out}`);
    await noah.waitFor(new RegExp(`^-- saved ${literal(join(out, "notes (1).txt"))} \\(22 B\\)$`, "m"));
    expect(readFileSync(join(out, "notes (1).txt"))).toEqual(readFileSync(notes));

    noah.writeLine(`/save 1 ${out}`);
    await noah.waitFor(new RegExp(`^-- saved ${literal(join(out, "dot.png"))} \\(\\d+ B\\)$`, "m"));
    expect(await sharp(join(out, "dot.png")).metadata()).toMatchObject({ width: 40, height: 30 });
    noah.writeLine(`/save 1 ${out} thumb`);
    await noah.waitFor(new RegExp(`^-- saved the thumbnail ${literal(join(out, "dot.thumb.webp"))} \\(\\d+ B\\)$`, "m"));
    expect(await sharp(join(out, "dot.thumb.webp")).metadata()).toMatchObject({ format: "webp" });

    noah.writeLine(`/save 3 ${out}`);
    await noah.waitFor(/^! \/save: message 3 is not an image or a file$/m);
    noah.writeLine(`/save 99 ${out}`);
    await noah.waitFor(/^! \/save: there is no message 99 in this conversation$/m);
    noah.writeLine("/save two");
    await noah.waitFor(/^! \/save takes a message number and a directory, e\.g\. \/save 3 ~\/Downloads$/m);

    // What cannot be read is refused before anything is sent, and the CLI goes on.
    const missing = join(work, "missing.png");
    mia.writeLine(`/image ${missing}`);
    await mia.waitFor(new RegExp(`^! /image: cannot read ${literal(missing)}: no such file or directory$`, "m"));
    mia.writeLine(`/file ${work}`);
    await mia.waitFor(new RegExp(`^! /file: ${literal(work)} is a directory, not a file$`, "m"));
    const empty = join(work, "empty.txt");
    writeFileSync(empty, "");
    mia.writeLine(`/file ${empty}`);
    await mia.waitFor(new RegExp(`^! /file: ${literal(empty)} is empty: there is nothing to send$`, "m"));
    // A JPEG cut short: the server refuses it, and says why in one line.
    const pixels = Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7919) % 251));
    const whole = await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toBuffer();
    const corrupt = join(work, "cut.jpg");
    writeFileSync(corrupt, whole.subarray(0, Math.floor(whole.length * 0.6)));
    mia.writeLine(`/image ${corrupt}`);
    await mia.waitFor(/^! \/image failed: InvalidArgument: .+$/m);
    mia.writeLine("still here");
    await mia.waitFor(/^\[4\] me: still here ✓$/m);
    await noah.waitFor(/^\[4\] mia: still here$/m);

    for (const c of [mia, noah]) c.writeLine("/quit");
    expect(await Promise.all([mia.exitCode(), noah.exitCode()])).toEqual([0, 0]);
    for (const c of [mia, noah]) {
      expect(c.stderr).toBe("");
      expect(c.stdout).not.toMatch(/^\s+at /m);
    }
  });
});

describe("upload progress", () => {
  /** A fake terminal or pipe: raw writes and whole printed lines, in order. */
  function output(interactive: boolean): ProgressOutput & { seen: string[] } {
    const seen: string[] = [];
    return { interactive, seen, write: (raw) => void seen.push(raw), print: (line) => void seen.push(`${line}\n`) };
  }
  const kb = 1024;

  it("rewrites one line in place on a terminal, only when the percentage moves", () => {
    const out = output(true);
    const bar = new ProgressBar(out, "uploading", "photo.jpg");
    for (const sent of [0, 120 * kb, 120 * kb + 1, 250 * kb]) bar.update(sent, 250 * kb);
    expect(out.seen).toEqual([
      "\r\x1b[2Kuploading photo.jpg [..................] 0% 0 B/250.0 KB",
      "\r\x1b[2Kuploading photo.jpg [#########.........] 48% 120.0 KB/250.0 KB",
      "\r\x1b[2Kuploading photo.jpg [##################] 100% 250.0 KB/250.0 KB",
    ]);
    bar.clear();
    expect(out.seen.at(-1)).toBe("\r\x1b[2K");
  });

  it("prints only 0, 50 and 100% on a pipe, however many chunks go by", () => {
    const out = output(false);
    const bar = new ProgressBar(out, "uploading", "big.bin");
    for (let sent = 0; sent <= 1000 * kb; sent += 64 * kb) bar.update(sent, 1000 * kb);
    bar.update(1000 * kb, 1000 * kb);
    bar.clear();
    expect(out.seen).toEqual([
      "uploading big.bin [..................] 0% 0 B/1000.0 KB\n",
      "uploading big.bin [#########.........] 50% 500.0 KB/1000.0 KB\n",
      "uploading big.bin [##################] 100% 1000.0 KB/1000.0 KB\n",
    ]);
  });
});

describe("saved file names", () => {
  it("keep no path separators, control characters or leading dots", () => {
    expect(safeFileName("../../etc/passwd", "m_1")).toBe("_.._etc_passwd");
    expect(safeFileName("..\\win.ini", "m_1")).toBe("_win.ini");
    expect(safeFileName(".bashrc", "m_1")).toBe("bashrc");
    expect(safeFileName("a\u001b[2Jb.txt", "m_1")).toBe("a_[2Jb.txt");
    expect(safeFileName("", "m_1")).toBe("media-m_1");
    expect(safeFileName("...", "m_1")).toBe("media-m_1");
    expect(safeFileName(`${"x".repeat(300)}.pdf`, "m_1")).toMatch(/^x{196}\.pdf$/);
  });
});
