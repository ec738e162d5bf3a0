import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageRejectedError, processImage, type ImageLimits } from "./image.js";

const limits: ImageLimits = { maxPixels: 40_000_000, thumbnailMaxSide: 320, previewMaxBytes: 8192 };

/** A picture with detail (a gradient of noise) so encoders cannot shrink it to nothing. */
function picture(width: number, height: number) {
  return sharp({ create: { width, height, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 40 } } });
}

/** The tag ids of a TIFF/EXIF block's IFD0 and, when IFD0 points to one, its GPS IFD. */
function exifTags(exif: Buffer): { ifd0: number[]; gps: number[] } {
  const tiff = exif.subarray(exif.indexOf("Exif\0\0") + 6);
  const le = tiff.toString("latin1", 0, 2) === "II";
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const entries = (at: number) => Array.from({ length: u16(at) }, (_, i) => ({ tag: u16(at + 2 + i * 12), value: u32(at + 2 + i * 12 + 8) }));
  const ifd0 = entries(u32(4));
  const gpsPointer = ifd0.find((e) => e.tag === 0x8825);
  return { ifd0: ifd0.map((e) => e.tag), gps: gpsPointer ? entries(gpsPointer.value).map((e) => e.tag) : [] };
}

/** A real, decodable 1-bit greyscale PNG of the given size, all black: a few KB claiming huge dimensions. */
function blackPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8);
  const rows = Buffer.alloc((1 + Math.ceil(width / 8)) * height);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

async function rejection(work: Promise<unknown>): Promise<ImageRejectedError> {
  const error: unknown = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageRejectedError);
  return error as ImageRejectedError;
}

describe("processImage", () => {
  it("strips EXIF with GPS, XMP and IPTC from a JPEG and keeps it a JPEG of the same size", async () => {
    const input = await picture(400, 300)
      .jpeg()
      .withExif({
        IFD0: { Copyright: "someone", Software: "camera" },
        IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2400/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 0/1" },
      })
      .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>')
      .toBuffer();
    const before = await sharp(input).metadata();
    expect(before.exif).toBeDefined();
    expect(exifTags(before.exif!).gps).toEqual(expect.arrayContaining([0x0001, 0x0002, 0x0003, 0x0004]));
    expect(before.xmp).toBeDefined();

    const out = await processImage(input, limits);
    const after = await sharp(out.original.bytes).metadata();
    expect(out.original.mimeType).toBe("image/jpeg");
    expect(after.format).toBe("jpeg");
    expect([after.exif, after.xmp, after.iptc]).toEqual([undefined, undefined, undefined]);
    expect([out.original.width, out.original.height]).toEqual([400, 300]);
    expect([after.width, after.height]).toEqual([400, 300]);
  });

  it("applies EXIF orientation 6, so a 400x200 stored image comes out 200x400 with no orientation tag", async () => {
    const input = await picture(400, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(input).metadata()).orientation).toBe(6);
    const out = await processImage(input, limits);
    const after = await sharp(out.original.bytes).metadata();
    expect([out.original.width, out.original.height]).toEqual([200, 400]);
    expect([after.width, after.height, after.orientation]).toEqual([200, 400, undefined]);
    expect([out.thumbnail.width, out.thumbnail.height]).toEqual([160, 320]);
  });

  it.each([
    ["png", "image/png", "png"],
    ["webp", "image/webp", "webp"],
    ["gif", "image/gif", "gif"],
    ["avif", "image/avif", "heif"],
  ] as const)("keeps a %s original in its own format", async (format, mimeType, decoder) => {
    const out = await processImage(await picture(120, 90).toFormat(format).toBuffer(), limits);
    expect(out.original.mimeType).toBe(mimeType);
    expect((await sharp(out.original.bytes).metadata()).format).toBe(decoder);
  });

  it("keeps every frame of an animated GIF, with the frame's height as the height", async () => {
    const frame = (rgb: number[]) => Buffer.alloc(40 * 30 * 3).map((_, i) => rgb[i % 3]!);
    const frames = Buffer.concat([frame([255, 0, 0]), frame([0, 255, 0]), frame([0, 0, 255])]);
    const input = await sharp(frames, { raw: { width: 40, height: 90, channels: 3, pageHeight: 30 } }).gif({ delay: [100, 100, 100] }).toBuffer();
    expect((await sharp(input).metadata()).pages).toBe(3);
    const out = await processImage(input, limits);
    expect((await sharp(out.original.bytes).metadata()).pages).toBe(3);
    expect([out.original.width, out.original.height]).toEqual([40, 30]);
    expect([out.thumbnail.width, out.thumbnail.height]).toEqual([40, 30]);
  });

  it("counts every frame of an animation against maxPixels", async () => {
    const frames = Buffer.alloc(40 * 90 * 3).map((_, i) => (i * 37) % 256);
    const input = await sharp(frames, { raw: { width: 40, height: 90, channels: 3, pageHeight: 30 } }).gif().toBuffer();
    expect((await sharp(input).metadata()).pages).toBe(3);
    expect((await rejection(processImage(input, { ...limits, maxPixels: 40 * 30 * 2 }))).reason).toBe("too_many_pixels");
  });

  it("makes a WebP thumbnail that fits in 320x320", async () => {
    const out = await processImage(await picture(1600, 900).png().toBuffer(), limits);
    const thumb = await sharp(out.thumbnail.bytes).metadata();
    expect(thumb.format).toBe("webp");
    expect([thumb.width, thumb.height]).toEqual([320, 180]);
    expect([out.thumbnail.width, out.thumbnail.height]).toEqual([320, 180]);
  });

  it("never enlarges a small image for its thumbnail", async () => {
    const out = await processImage(await picture(100, 50).png().toBuffer(), limits);
    const thumb = await sharp(out.thumbnail.bytes).metadata();
    expect([thumb.width, thumb.height]).toEqual([100, 50]);
  });

  it("makes a preview of at most previewMaxBytes that decodes as a tiny WebP", async () => {
    const out = await processImage(await picture(1200, 800).jpeg().toBuffer(), limits);
    expect(out.preview.bytes.length).toBeLessThanOrEqual(8192);
    const preview = await sharp(out.preview.bytes).metadata();
    expect(preview.format).toBe("webp");
    expect(Math.max(preview.width, preview.height)).toBeLessThanOrEqual(32);
  });

  it("shrinks the preview further when the byte limit is tight", async () => {
    const out = await processImage(await picture(1200, 800).jpeg().toBuffer(), { ...limits, previewMaxBytes: 120 });
    expect(out.preview.bytes.length).toBeLessThanOrEqual(120);
    expect((await sharp(out.preview.bytes).metadata()).format).toBe("webp");
  });

  it("refuses an image over maxPixels with too_many_pixels", async () => {
    const input = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: "white" } }).png({ compressionLevel: 9 }).toBuffer();
    const error = await rejection(processImage(input, { ...limits, maxPixels: 1_000_000 }));
    expect(error.reason).toBe("too_many_pixels");
  });

  it("refuses a 20000x20000 PNG bomb of a few KB with too_many_pixels, from its header", async () => {
    const bomb = blackPng(20_000, 20_000);
    expect((await sharp(bomb, { limitInputPixels: false }).metadata()).width).toBe(20_000);
    const started = performance.now();
    const error = await rejection(processImage(bomb, limits));
    console.log(`bomb of ${bomb.length} bytes refused in ${Math.round(performance.now() - started)} ms`);
    expect(error.reason).toBe("too_many_pixels");
    expect(error.message).toContain("20000x20000");
  });

  it("refuses a truncated JPEG as corrupt instead of padding it with grey", async () => {
    const jpeg = await picture(600, 400).jpeg().toBuffer();
    const error = await rejection(processImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), limits));
    expect(error.reason).toBe("corrupt");
  });

  it("refuses random bytes and SVG as unsupported", async () => {
    const noise = Uint8Array.from({ length: 2048 }, (_, i) => (i * 151 + 7) % 251);
    expect((await rejection(processImage(noise, limits))).reason).toBe("unsupported");
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    expect((await rejection(processImage(svg, limits))).reason).toBe("unsupported");
  });

  it("refuses a PNG whose image data is garbage after a valid header as corrupt", async () => {
    const png = await picture(200, 200).png().toBuffer();
    const broken = Buffer.from(png);
    broken.fill(0x55, 100, broken.length - 20);
    expect((await rejection(processImage(broken, limits))).reason).toBe("corrupt");
  });
});
