import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { blobStoreContract, type ContractSubject } from "./blob-store.contract.js";
import { openS3BlobStore, type S3BlobStoreOptions } from "./s3-blob-store.js";

/** The slice of s3rver 3.7 we use; the package ships no type declarations. */
interface S3rverServer {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: { port: number; address: string; silent: boolean; directory: string }) => S3rverServer;
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverConstructor;

/** Opens the S3 adapter with a signing clock the contract can shift. */
async function openShiftable(opts: Omit<S3BlobStoreOptions, "now">, release: () => Promise<void>): Promise<ContractSubject> {
  let offset = 0;
  const store = await openS3BlobStore({ ...opts, now: () => new Date(Date.now() + offset) });
  return {
    store,
    shiftClock: (ms) => {
      offset = ms;
    },
    async dispose() {
      await store.close();
      await release();
    },
  };
}

blobStoreContract(
  "S3 adapter on s3rver",
  async () => {
    const directory = mkdtempSync(join(tmpdir(), "blobs-s3rver-"));
    const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory });
    const { port } = await server.run();
    return openShiftable(
      {
        endPoint: "127.0.0.1",
        port,
        useSSL: false,
        accessKey: "S3RVER",
        secretKey: "S3RVER",
        region: "us-east-1",
        bucket: "media-contract",
      },
      async () => {
        await server.close();
        rmSync(directory, { recursive: true, force: true });
      },
    );
  },
  { verifiesSignatures: false, unverifiedBecause: "s3rver does not verify SigV4 signatures" },
);

const minio = process.env["MINIO_ENDPOINT"];
if (minio === undefined || minio === "") {
  describe("BlobStore contract: S3 adapter on a real MinIO", () => {
    it.skip("real MinIO contract: skipped, MINIO_ENDPOINT is not set (e.g. MINIO_ENDPOINT=http://localhost:9000)", () => {});
  });
} else {
  const url = new URL(minio);
  const useSSL = url.protocol === "https:";
  blobStoreContract(
    `S3 adapter on MinIO at ${url.host}`,
    () =>
      openShiftable(
        {
          endPoint: url.hostname,
          port: url.port === "" ? (useSSL ? 443 : 80) : Number(url.port),
          useSSL,
          accessKey: process.env["MINIO_ACCESS_KEY"] ?? "minioadmin",
          secretKey: process.env["MINIO_SECRET_KEY"] ?? "minioadmin",
          region: process.env["MINIO_REGION"] ?? "us-east-1",
          bucket: process.env["MINIO_BUCKET"] ?? "media-contract",
        },
        () => Promise.resolve(),
      ),
    { verifiesSignatures: true },
  );
}
