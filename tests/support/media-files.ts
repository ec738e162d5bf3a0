import { createHash } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";

/** Test files made on the fly (no binary fixtures in git). */

export const sha256 = (bytes: Uint8Array): Uint8Array => createHash("sha256").update(bytes).digest();

/** A photo-like JPEG (noise, so it does not compress to nothing) carrying EXIF with a camera and GPS position. */
export async function jpegWithGps(width = 1280, height = 960): Promise<Uint8Array> {
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  return sharp(noise, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .withExif({
      IFD0: { Make: "TestCam", Model: "Leaky 1" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 3000/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 17/1 4000/100" },
    })
    .toBuffer();
}

export async function png(width = 64, height = 48): Promise<Uint8Array> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
}

/** The start of a 64-bit Linux executable, padded: what a renamed binary looks like. */
export function elfBytes(size = 4096): Uint8Array {
  const b = Buffer.alloc(size);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(b, 0);
  b.writeUInt16LE(2, 16); // e_type: executable
  b.writeUInt16LE(0x3e, 18); // e_machine: x86-64
  b.writeUInt32LE(1, 20); // e_version
  return b;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A decompression bomb: a valid PNG header declaring 50,000 × 50,000 pixels (2.5 G, 7.5 GB
 * decoded) over a deflate stream of zeros, a few hundred KB on disk.
 */
export function pixelBomb(): Uint8Array {
  const side = 50_000;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const rows = deflateSync(Buffer.alloc((side * 3 + 1) * 64), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", rows), chunk("IEND", Buffer.alloc(0))]);
}

/** A JPEG cut short. */
export async function truncatedJpeg(): Promise<Uint8Array> {
  const whole = await jpegWithGps(640, 480);
  return whole.subarray(0, Math.floor(whole.length * 0.6));
}
