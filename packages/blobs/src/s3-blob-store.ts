import { Client } from "minio";
import type { Readable } from "node:stream";
import { attachmentDisposition, type BlobInfo, type BlobStore, type GetGrant, type PutGrant, type SignedRequest } from "./blob-store.js";

export interface S3BlobStoreOptions {
  /** Host name or IP, without scheme or port (e.g. "minio" or "s3.amazonaws.com"). */
  readonly endPoint: string;
  /** @default 443 with SSL, 80 without */
  readonly port?: number;
  readonly useSSL: boolean;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Fixed so that signing never asks the server for the bucket's region. */
  readonly region: string;
  /** At least 3 characters (S3 bucket naming rules). */
  readonly bucket: string;
  /** The signing clock; injectable so tests can pin X-Amz-Date or sign URLs that are already expired. */
  readonly now?: () => Date;
  /**
   * Creates the bucket when it is missing, which contacts the server at open.
   * @default true
   */
  readonly createBucket?: boolean;
}

/**
 * Opens a blob store on MinIO or any S3. URLs are SigV4 query-signed by the minio client, so the
 * server itself checks signature and expiry.
 */
export async function openS3BlobStore(opts: S3BlobStoreOptions): Promise<BlobStore> {
  const now = opts.now ?? (() => new Date());
  const { bucket } = opts;
  const client = new Client({
    endPoint: opts.endPoint,
    ...(opts.port === undefined ? {} : { port: opts.port }),
    useSSL: opts.useSSL,
    accessKey: opts.accessKey,
    secretKey: opts.secretKey,
    region: opts.region,
  });
  if (opts.createBucket ?? true) {
    if (!(await client.bucketExists(bucket))) await makeBucketUnlessRaced(client, bucket, opts.region);
  }

  return {
    async signPut(key: string, grant: PutGrant): Promise<SignedRequest> {
      const date = now();
      // A presigned PUT from this client signs only the host header: neither the size nor the
      // Content-Type is enforced by the store. The media service checks size and sha256 when
      // the upload is completed, so a client breaking the grant only wastes its own upload.
      // presignedUrl rather than presignedPutObject, which cannot take the request date.
      const url = await client.presignedUrl("PUT", bucket, key, grant.expiresInSeconds, {}, date);
      return {
        url,
        method: "PUT",
        headers: { "content-type": grant.contentType },
        expiresAt: date.getTime() + grant.expiresInSeconds * 1000,
      };
    },

    async signGet(key: string, grant: GetGrant): Promise<SignedRequest> {
      const date = now();
      // Response overrides are part of the signed query, so a client cannot change them.
      const overrides: Record<string, string> = { "response-content-type": grant.contentType };
      if (grant.attachmentName !== undefined) {
        overrides["response-content-disposition"] = attachmentDisposition(grant.attachmentName);
      }
      const url = await client.presignedGetObject(bucket, key, grant.expiresInSeconds, overrides, date);
      return { url, method: "GET", headers: {}, expiresAt: date.getTime() + grant.expiresInSeconds * 1000 };
    },

    async stat(key: string): Promise<BlobInfo | undefined> {
      try {
        const info = await client.statObject(bucket, key);
        return { size: info.size };
      } catch (err) {
        if (isNoSuchKey(err)) return undefined;
        throw err;
      }
    },

    read(key: string): Promise<Readable> {
      return client.getObject(bucket, key);
    },

    async write(key: string, body: Uint8Array | Readable, size: number, contentType: string): Promise<void> {
      const payload = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : body;
      await client.putObject(bucket, key, payload, size, { "Content-Type": contentType });
    },

    async remove(keys: readonly string[]): Promise<void> {
      if (keys.length === 0) return;
      // Multi-object delete is quiet: keys without an object are not errors on S3 or MinIO.
      const failures = (await client.removeObjects(bucket, [...keys])).map(failureCode);
      const real = failures.filter((code) => code !== "NoSuchKey");
      if (real.length > 0) throw new Error(`removing blobs failed: ${real.join(", ")}`);
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

async function makeBucketUnlessRaced(client: Client, bucket: string, region: string): Promise<void> {
  try {
    await client.makeBucket(bucket, region);
  } catch (err) {
    // Another replica may have created it between our check and our request.
    const code = (err as { code?: unknown }).code;
    if (code !== "BucketAlreadyOwnedByYou" && code !== "BucketAlreadyExists") throw err;
  }
}

/**
 * minio 8.0.7 types each failure as { Error: { Code } } but returns the <Error> element itself
 * ({ Code, Key, Message }); accept both shapes.
 */
function failureCode(failure: unknown): string {
  const f = failure as { Code?: unknown; Error?: { Code?: unknown } } | null | undefined;
  const code = f?.Code ?? f?.Error?.Code;
  return typeof code === "string" ? code : "unknown";
}

function isNoSuchKey(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "NotFound" || code === "NoSuchKey";
}
