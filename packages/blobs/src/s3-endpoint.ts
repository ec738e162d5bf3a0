import type { S3BlobStoreOptions } from "./s3-blob-store.js";

/** What an S3 connection needs besides the endpoint URL (the MINIO_* variables). */
export interface S3Credentials {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  readonly bucket: string;
}

/**
 * The adapter's options for an endpoint given as a URL ("http://minio:9000",
 * "https://s3.example.com"), the form operators write in MINIO_ENDPOINT: SSL from the scheme,
 * the port when the URL names one (else the client's default for the scheme). Every service
 * that reaches the bucket reads MINIO_ENDPOINT the same way through this.
 */
export function s3OptionsFromEndpoint(endpoint: string, credentials: S3Credentials): S3BlobStoreOptions {
  const url = new URL(endpoint);
  return {
    endPoint: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    useSSL: url.protocol === "https:",
    ...credentials,
  };
}
