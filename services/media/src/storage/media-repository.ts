/** An upload, from its reservation to the checked media it became. */
export interface MediaRecord {
  readonly id: string;
  readonly conversationId: string;
  readonly uploaderUserId: string;
  /** The name shown to recipients. */
  readonly fileName: string;
  /** What the client declared at CreateUpload. */
  readonly declaredMimeType: string;
  readonly declaredSize: number;
  /** Hex SHA-256 the client declared. */
  readonly sha256: string;
  readonly createdAt: number;
  /** When the upload URL stops working; a pending upload is abandoned some time after. */
  readonly uploadExpiresAt: number;
  /** Set once CompleteUpload checked and processed the bytes. */
  readonly ready?: ReadyMedia;
  /** The last time a send named it (the cleanup leaves it alone for a while after). */
  readonly lastResolvedAt?: number;
}

/** What CompleteUpload found and made. */
export interface ReadyMedia {
  /** The type sniffed from the bytes (application/octet-stream when unknown or refused as what it claims). */
  readonly mimeType: string;
  /** Size of the stored original. */
  readonly size: number;
  readonly width: number;
  readonly height: number;
  /** The tiny inline preview carried in the message (empty for a file). */
  readonly preview: Uint8Array;
  /** The blob key of the stored original. */
  readonly originalKey: string;
  /** The thumbnail's blob key, type and size; absent for a file. */
  readonly thumbnail?: { readonly key: string; readonly mimeType: string; readonly size: number };
  readonly completedAt: number;
}

/** Where uploads and their results are recorded. */
export interface MediaRepository {
  insert(record: MediaRecord): Promise<void>;
  get(id: string): Promise<MediaRecord | undefined>;
  /** Records the result of CompleteUpload; false when the record is gone or already ready. */
  markReady(id: string, ready: ReadyMedia): Promise<boolean>;
  /** Notes that a send named the media at `now`; the mark never moves backwards (a late, older mark changes nothing). */
  touch(id: string, now: number): Promise<void>;
  /** The declared bytes of the user's uploads created at or after `since` (the daily quota). */
  bytesReservedSince(userId: string, since: number): Promise<number>;
  /** Pending uploads whose URL expired before `before`, oldest first. */
  abandonedUploads(before: number, limit: number): Promise<MediaRecord[]>;
  /** Ready media completed before `before`, by id after `afterId` (a sweep's cursor). */
  readyMedia(before: number, afterId: string, limit: number): Promise<MediaRecord[]>;
  delete(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
