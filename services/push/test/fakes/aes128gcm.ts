import { createDecipheriv, createECDH, hkdfSync } from "node:crypto";

/**
 * Decrypts a Web Push message body as the browser does (RFC 8291 key derivation over the
 * RFC 8188 aes128gcm content coding), written from the RFCs with node:crypto alone so it shares
 * no code with the sender's `web-push` / `http_ece`.
 */
export function decryptAes128gcm(body: Uint8Array, subscriber: { privateKey: Buffer; publicKey: Buffer; auth: Buffer }): Buffer {
  const data = Buffer.from(body);
  // Header (RFC 8188 §2.1): salt(16) | rs(4) | idlen(1) | keyid(idlen), keyid = the sender's ephemeral public key.
  if (data.length < 21) throw new Error("aes128gcm: body shorter than its header");
  const salt = data.subarray(0, 16);
  const recordSize = data.readUInt32BE(16);
  const idLength = data.readUInt8(20);
  const senderPublicKey = data.subarray(21, 21 + idLength);
  if (idLength !== 65) throw new Error(`aes128gcm: keyid is ${idLength} bytes, not a 65-byte P-256 point`);
  if (recordSize < 18) throw new Error(`aes128gcm: record size ${recordSize} too small`);

  // RFC 8291 §3.3-3.4: IKM from the ECDH secret, keyed by the auth secret, bound to both public keys.
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(subscriber.privateKey);
  const sharedSecret = ecdh.computeSecret(senderPublicKey);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), subscriber.publicKey, senderPublicKey]);
  const ikm = Buffer.from(hkdfSync("sha256", sharedSecret, subscriber.auth, keyInfo, 32));
  // RFC 8188 §2.2-2.3.
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const baseNonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));

  const records = data.subarray(21 + idLength);
  const plain: Buffer[] = [];
  for (let offset = 0, index = 0; offset < records.length; offset += recordSize, index++) {
    const record = records.subarray(offset, Math.min(offset + recordSize, records.length));
    const last = offset + recordSize >= records.length;
    const nonce = Buffer.from(baseNonce);
    // The record number is XORed into the nonce's low bits (far fewer than 2^32 records here).
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ index) >>> 0, 8);
    const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    // Padding: the data, one delimiter (2 on the last record, 1 before), then zeros.
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    const delimiter = padded[end];
    if (delimiter !== (last ? 2 : 1)) throw new Error(`aes128gcm: record ${index} has delimiter ${String(delimiter)}`);
    plain.push(padded.subarray(0, end));
  }
  return Buffer.concat(plain);
}
