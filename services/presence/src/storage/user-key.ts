/**
 * A NATS KV key for a user id. Ids from an operator's identity provider may hold characters
 * KV keys refuse (`|`, `@`, spaces): every byte outside [A-Za-z0-9_-] becomes `=HH`, which
 * is injective and leaves ordinary ids (`u_3f2a...`) readable.
 */
export function userKey(userId: string): string {
  let key = "";
  for (const byte of new TextEncoder().encode(userId)) {
    const c = String.fromCharCode(byte);
    key += /[A-Za-z0-9_-]/.test(c) ? c : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return key;
}
