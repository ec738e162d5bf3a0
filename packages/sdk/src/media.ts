import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { MediaRef } from "@messenger/proto/chat/v1/types";
import { MediaVariant, type MediaService } from "@messenger/proto/media/v1/media_service";
import type { AuthedCall } from "./contacts.js";

/** A file to upload: its bytes and the name recipients see. */
export interface OutgoingFile {
  readonly bytes: Uint8Array;
  readonly fileName: string;
  /** What the app believes it is; guessed from the name when absent. The server decides from the bytes. */
  readonly mimeType?: string;
}

/** How far an upload got. */
export interface UploadProgress {
  readonly mediaId: string;
  readonly fileName: string;
  readonly sentBytes: number;
  readonly totalBytes: number;
}

/** Where to download a media from, until when. */
export interface DownloadLink {
  readonly url: string;
  readonly expiresAt: Date;
  readonly mimeType: string;
  readonly sizeBytes: bigint;
}

const byExtension: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  pdf: "application/pdf",
  txt: "text/plain",
  zip: "application/zip",
  mp4: "video/mp4",
  mp3: "audio/mpeg",
};

/** A MIME type from a file name's extension; application/octet-stream when unknown. */
export function guessMimeType(fileName: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  return (ext && byExtension[ext]) ?? "application/octet-stream";
}

const chunkBytes = 64 * 1024;

/** PUTs the bytes to a signed URL, reporting progress as the socket takes them. */
function put(url: string, method: string, headers: Record<string, string>, bytes: Uint8Array, onSent: (sent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(target, { method, headers: { ...headers, "content-length": String(bytes.length) } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d.slice(0, 2000)));
      res.on("end", () => {
        if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) resolve();
        else reject(new ConnectError(`upload refused by the blob store: HTTP ${res.statusCode} ${body.trim().slice(0, 200)}`, Code.FailedPrecondition));
      });
    });
    req.on("error", (err) => reject(new ConnectError(`upload failed: ${err.message}`, Code.Unavailable)));
    let sent = 0;
    const writeMore = (): void => {
      while (sent < bytes.length) {
        const chunk = bytes.subarray(sent, Math.min(sent + chunkBytes, bytes.length));
        sent += chunk.length;
        const at = sent;
        const more = req.write(chunk, () => onSent(at));
        if (!more) {
          req.once("drain", writeMore);
          return;
        }
      }
      req.end();
    };
    writeMore();
  });
}

/**
 * Images and files: upload straight to the blob store through the signed URL the media
 * service hands out (the bytes never pass through a gateway), then have the service check
 * them; download through short-lived URLs.
 */
export class MediaApi {
  constructor(
    private readonly client: () => Client<typeof MediaService>,
    private readonly authed: AuthedCall,
  ) {}

  /** Uploads a file for a conversation; resolves with the reference to send. */
  async upload(conversationId: string, file: OutgoingFile, onProgress?: (p: UploadProgress) => void): Promise<MediaRef> {
    const sha256 = createHash("sha256").update(file.bytes).digest();
    const created = await this.authed((h) =>
      this.client().createUpload(
        { conversationId, fileName: file.fileName, mimeType: file.mimeType ?? guessMimeType(file.fileName), sizeBytes: BigInt(file.bytes.length), sha256 },
        h,
      ),
    );
    const headers = Object.fromEntries(created.uploadHeaders.map((x) => [x.name, x.value]));
    const progress = (sentBytes: number): void => onProgress?.({ mediaId: created.mediaId, fileName: file.fileName, sentBytes, totalBytes: file.bytes.length });
    progress(0);
    await put(created.uploadUrl, created.uploadMethod || "PUT", headers, file.bytes, progress);
    const done = await this.authed((h) => this.client().completeUpload({ mediaId: created.mediaId }, h));
    if (!done.media) throw new ConnectError("the media service returned no reference", Code.Internal);
    return done.media;
  }

  /** A short-lived URL of the original or the thumbnail. */
  async downloadLink(mediaId: string, variant: "original" | "thumbnail" = "original"): Promise<DownloadLink> {
    const res = await this.authed((h) =>
      this.client().getDownloadUrl({ mediaId, variant: variant === "thumbnail" ? MediaVariant.THUMBNAIL : MediaVariant.ORIGINAL }, h),
    );
    return { url: res.url, expiresAt: new Date(Number(res.expiresAt?.seconds ?? 0n) * 1000), mimeType: res.mimeType, sizeBytes: res.sizeBytes };
  }

  /** Downloads the original or the thumbnail. */
  async download(mediaId: string, variant: "original" | "thumbnail" = "original"): Promise<{ bytes: Uint8Array; mimeType: string }> {
    const link = await this.downloadLink(mediaId, variant);
    const res = await fetch(link.url);
    if (!res.ok) throw new ConnectError(`download refused by the blob store: HTTP ${res.status}`, Code.FailedPrecondition);
    return { bytes: new Uint8Array(await res.arrayBuffer()), mimeType: res.headers.get("content-type") ?? link.mimeType };
  }
}
