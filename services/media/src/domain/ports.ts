/** What the media service asks the message store (the authority on members and messages). */
export interface ConversationAccess {
  /** True while the user is a current member of the conversation. */
  isMember(conversationId: string, userId: string): Promise<boolean>;
  /** True when a stored message referencing the media lies inside one of the user's membership ranges. */
  canSee(userId: string, mediaId: string): Promise<boolean>;
  /** The ids among `mediaIds` that some stored message still references. */
  referenced(mediaIds: readonly string[]): Promise<Set<string>>;
}

/** An image's cleaned original, thumbnail and inline preview. */
export interface ImageResult {
  readonly original: { readonly bytes: Uint8Array; readonly mimeType: string; readonly width: number; readonly height: number };
  readonly thumbnail: { readonly bytes: Uint8Array; readonly mimeType: string; readonly width: number; readonly height: number };
  readonly preview: { readonly bytes: Uint8Array; readonly mimeType: string };
  /** Time spent on the image itself, not waiting for a processing slot. */
  readonly processingSeconds: number;
}

/** The real type of some bytes, from their first ones. */
export interface Sniffed {
  readonly mimeType: string;
  readonly kind: "image" | "file";
  readonly executable: boolean;
}

/** Byte inspection and image work, bounded by the caller's queue. */
export interface MediaProcessing {
  /** How many leading bytes `sniff` needs. */
  readonly sniffBytes: number;
  sniff(head: Uint8Array): Promise<Sniffed>;
  /**
   * Re-encodes an image without its metadata and makes the thumbnail and the preview.
   * Rejects with a DomainError: invalid_argument for a bomb or corrupt bytes, resource_exhausted
   * when the processing queue is full.
   */
  processImage(bytes: Uint8Array): Promise<ImageResult>;
}
