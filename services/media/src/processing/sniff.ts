import { fileTypeFromBuffer } from "file-type";
import { imageMimeTypes } from "../domain/upload-input.js";

/** What the bytes of an upload are, whatever its name or declared type says. */
export interface SniffedType {
  /** The mime type to store and serve; "application/octet-stream" when unknown or dangerous. */
  mimeType: string;
  /** "image" only for raster formats the image pipeline decodes and re-encodes. */
  kind: "image" | "file";
  /** True for native executables, installers, bytecode and scripts (a shebang). */
  executable: boolean;
}

const octetStream = "application/octet-stream";

/** Raster types that are re-encoded by processImage, so they are safe to show inline. */
/** The raster types processed as images: the same list as uploads declare them by. */
const rasterImages = imageMimeTypes;

/**
 * Types file-type 22 reports for code a machine or runtime will execute (checked against its
 * supported.js): native binaries, bytecode, packages that install code and the shortcut /
 * registry files Windows acts on when opened. file-type has no script detection; shebangs are
 * caught below.
 */
const executableTypes: ReadonlySet<string> = new Set([
  "application/x-elf",
  "application/x-mach-binary",
  "application/x-msdownload",
  "application/vnd.microsoft.portable-executable",
  "application/wasm",
  "application/java-vm",
  "application/java-archive",
  "application/vnd.android.package-archive",
  "application/x-google-chrome-extension",
  "application/x-xpinstall",
  "application/x-deb",
  "application/x-rpm",
  "application/x-ms-shortcut",
  "application/x-ms-regedit",
  "application/x-shockwave-flash",
  "application/x-sh",
]);

/**
 * Types file-type knows that a browser would render as an active document: an XML file may
 * hold SVG or XHTML with scripts. They are kept as opaque bytes.
 */
const activeDocuments: ReadonlySet<string> = new Set(["application/xml", "text/html", "image/svg+xml"]);

/** How many leading bytes sniffType needs (file-type's own detection window). */
export function sniffable(): number {
  return 4100;
}

/** True only for the raster image types that may be served inline with their own mime type. */
export function isSafeInline(mimeType: string): boolean {
  return rasterImages.has(mimeType);
}

/**
 * Sniffs the type from the first sniffable() bytes (more are ignored). Never trusts a name or a
 * declared type: it takes neither.
 */
export async function sniffType(head: Uint8Array): Promise<SniffedType> {
  const bytes = head.length > sniffable() ? head.subarray(0, sniffable()) : head;
  if (bytes.length >= 2 && bytes[0] === 0x23 && bytes[1] === 0x21) {
    return { mimeType: octetStream, kind: "file", executable: true };
  }
  const found = await fileTypeFromBuffer(bytes);
  if (found === undefined || activeDocuments.has(found.mime)) {
    return { mimeType: octetStream, kind: "file", executable: false };
  }
  if (executableTypes.has(found.mime)) {
    return { mimeType: octetStream, kind: "file", executable: true };
  }
  // An animated PNG is a PNG to every decoder that ignores its extra chunks, sharp included.
  const mimeType = found.mime === "image/apng" ? "image/png" : found.mime;
  return { mimeType, kind: rasterImages.has(mimeType) ? "image" : "file", executable: false };
}
