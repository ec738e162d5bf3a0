/**
 * The database a connection string names (its path), else "messenger": the one rule every
 * service follows, so that services given the same MONGODB_URI share one database.
 */
export function databaseOf(uri: string): string {
  // The host list holds no "/" (the connection string spec has it percent-encoded in credentials).
  const path = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/.exec(uri)?.[1];
  return path ? decodeURIComponent(path) : "messenger";
}
