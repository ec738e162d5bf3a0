export {
  attachmentDisposition,
  type BlobInfo,
  type BlobStore,
  type GetGrant,
  type PutGrant,
  type SignedRequest,
} from "./blob-store.js";
export { InvalidBlobKeyError, openLocalBlobStore, type LocalBlobStore, type LocalBlobStoreOptions } from "./local-blob-store.js";
export { openS3BlobStore, type S3BlobStoreOptions } from "./s3-blob-store.js";
export { s3OptionsFromEndpoint, type S3Credentials } from "./s3-endpoint.js";
export { minioEnv, openMinioBlobStore, type MinioEnv } from "./minio-env.js";
