import sharp, { type FormatEnum, type Metadata, type Sharp, type SharpOptions } from "sharp";
import { sniffable, sniffType } from "./sniff.js";

/** Bounds on the work one image may cost. */
export interface ImageLimits {
  /** Largest width x height (x frames for animations) accepted, checked before any pixel is decoded. */
  maxPixels: number;
  /** The thumbnail's longer side at most, in pixels. */
  thumbnailMaxSide: number;
  /** The preview's size at most, in bytes. */
  previewMaxBytes: number;
}

/** An upload re-encoded for storage, with its thumbnail and inline preview. */
export interface ProcessedImage {
  /** Same format as the input, auto-oriented, with no metadata; width/height as displayed. */
  original: { bytes: Uint8Array; mimeType: string; width: number; height: number };
  thumbnail: { bytes: Uint8Array; mimeType: "image/webp"; width: number; height: number };
  /** A few hundred bytes of blurry WebP, small enough to send inline with a message. */
  preview: { bytes: Uint8Array; mimeType: "image/webp" };
}

export type ImageRejection = "too_many_pixels" | "corrupt" | "unsupported";

/** The input is not an image this service stores; `reason` says why, the cause stays for logs. */
export class ImageRejectedError extends Error {
  override readonly name = "ImageRejectedError";
  constructor(
    readonly reason: ImageRejection,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** sharp's decoder for each raster type we accept; AVIF is sharp's "heif" with AV1 inside. */
const decoderOf: Readonly<Record<string, keyof FormatEnum>> = {
  "image/jpeg": "jpeg",
  "image/png": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/avif": "heif",
};

const previewLongSide = 32;
const previewQuality = 30;
const thumbnailQuality = 75;

/**
 * Decodes, checks and re-encodes an image. Rejects with ImageRejectedError, never anything else
 * for bad input: a type that is not one of our raster types (by its bytes, so SVG is never
 * rasterised), more pixels than limits.maxPixels (found from the header alone), and truncated or
 * corrupt data (failOn "truncated": a cut-off JPEG is refused, not padded with grey).
 */
export async function processImage(bytes: Uint8Array, opts: ImageLimits): Promise<ProcessedImage> {
  const sniffed = await sniffType(bytes.subarray(0, sniffable()));
  const decoder = decoderOf[sniffed.mimeType];
  if (decoder === undefined) {
    throw new ImageRejectedError("unsupported", `not a supported image type (${sniffed.mimeType})`);
  }
  const input: SharpOptions = { failOn: "truncated", limitInputPixels: opts.maxPixels };
  // metadata() reads the header only, so sharp's pixel limit is lifted here to let checkHeader
  // say what the size was; every pipeline that decodes pixels keeps limitInputPixels.
  const meta = await guarded(() => sharp(bytes, { ...input, limitInputPixels: false }).metadata());
  checkHeader(meta, decoder, sniffed.mimeType, opts.maxPixels);
  const animated = (meta.pages ?? 1) > 1 && (decoder === "gif" || decoder === "webp");

  const original = await guarded(() => encodeLike(sharp(bytes, { ...input, animated }).autoOrient(), decoder).toBuffer({ resolveWithObject: true }));
  const thumbnail = await guarded(() =>
    sharp(bytes, input)
      .autoOrient()
      .resize({ width: opts.thumbnailMaxSide, height: opts.thumbnailMaxSide, fit: "inside", withoutEnlargement: true })
      .webp({ quality: thumbnailQuality })
      .toBuffer({ resolveWithObject: true }),
  );
  const preview = await guarded(() => smallestPreview(thumbnail.data, opts.previewMaxBytes));
  return {
    original: {
      bytes: new Uint8Array(original.data),
      mimeType: sniffed.mimeType,
      width: original.info.width,
      height: original.info.pageHeight ?? original.info.height,
    },
    thumbnail: { bytes: new Uint8Array(thumbnail.data), mimeType: "image/webp", width: thumbnail.info.width, height: thumbnail.info.height },
    preview: { bytes: new Uint8Array(preview), mimeType: "image/webp" },
  };
}

function checkHeader(meta: Metadata, decoder: keyof FormatEnum, mimeType: string, maxPixels: number): void {
  if (meta.format !== decoder || (decoder === "heif" && meta.compression !== "av1")) {
    throw new ImageRejectedError("unsupported", `the bytes look like ${mimeType} but decode as ${meta.format}`);
  }
  const pixels = meta.width * (meta.pageHeight ?? meta.height) * (meta.pages ?? 1);
  if (!(pixels > 0)) throw new ImageRejectedError("corrupt", "the image header gives no size");
  if (pixels > maxPixels) {
    throw new ImageRejectedError("too_many_pixels", `image of ${meta.width}x${meta.height} exceeds the limit of ${maxPixels} pixels`);
  }
}

/** Re-encodes in the input's own format; sharp writes no metadata unless asked (ICC is converted to sRGB and dropped). */
function encodeLike(image: Sharp, decoder: keyof FormatEnum): Sharp {
  switch (decoder) {
    case "jpeg":
      return image.jpeg({ quality: 90, mozjpeg: false });
    case "png":
      return image.png();
    case "webp":
      return image.webp({ quality: 90 });
    case "gif":
      return image.gif();
    default:
      return image.avif({ quality: 60 });
  }
}

/** Halves the preview until it fits; a 1x1 WebP is some tens of bytes, so any sane limit is met. */
async function smallestPreview(thumbnail: Buffer, maxBytes: number): Promise<Buffer> {
  for (let side = previewLongSide; ; side = Math.floor(side / 2)) {
    const out = await sharp(thumbnail)
      .resize({ width: side, height: side, fit: "inside", withoutEnlargement: true })
      .webp({ quality: previewQuality, effort: 6 })
      .toBuffer();
    if (out.length <= maxBytes) return out;
    if (side <= 1) throw new ImageRejectedError("unsupported", `no preview fits in ${maxBytes} bytes`);
  }
}

/** Turns every sharp/libvips failure into an ImageRejectedError so no caller sees a raw decoder error. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ImageRejectedError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) throw new ImageRejectedError("too_many_pixels", "image exceeds the pixel limit", { cause: error });
    if (/unsupported image format/i.test(message)) throw new ImageRejectedError("unsupported", "not a supported image type", { cause: error });
    throw new ImageRejectedError("corrupt", "the image is truncated or corrupt", { cause: error });
  }
}
