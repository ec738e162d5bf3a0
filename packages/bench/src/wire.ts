// A minimal protobuf reader for the few fields a load generator needs from the gateway's
// SessionResponse frames, so that a thousand member sessions do not spend the shared cores
// decoding whole messages (timestamps, ids) they never look at.

/** Field numbers of SessionResponse's frame oneof (proto/messenger/gateway/v1). */
export const responseField = {
  welcome: 1,
  sendResult: 2,
  message: 3,
  receipt: 4,
  syncComplete: 7,
  reset: 8,
  pong: 9,
  goAway: 10,
  error: 11,
  conversationUpdated: 12,
  receiptSummary: 13,
} as const;

/** The fields of a chat.v1.Message or a SendResult that the generators read. */
export interface ScannedFields {
  /** Message.client_message_id (6) or SendResult.client_message_id (1). */
  clientMessageId: string;
  /** Message.text (7); "" for other bodies. */
  text: string;
  /** Message.seq (3). */
  seq: number;
  /** SendResult.error_code (4). */
  errorCode: number;
  /** SendResult.duplicate (3). */
  duplicate: boolean;
}

function varint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 1;
  for (;;) {
    const b = buf[pos++]!;
    result += (b & 0x7f) * shift;
    if (b < 0x80) return [result, pos];
    shift *= 128;
  }
}

function skip(buf: Buffer, pos: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return varint(buf, pos)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [len, p] = varint(buf, pos);
      return p + len;
    }
    case 5:
      return pos + 4;
    default:
      throw new Error(`unsupported wire type ${wireType}`);
  }
}

/**
 * The top-level frame of a SessionResponse: its oneof field number and the bounds of its
 * embedded message. A frame holds exactly one field of the oneof.
 */
export function scanFrame(buf: Buffer): { field: number; start: number; end: number } {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = varint(buf, pos);
    const field = tag >>> 3;
    if ((tag & 7) === 2) {
      const [len, q] = varint(buf, p);
      return { field, start: q, end: q + len };
    }
    pos = skip(buf, p, tag & 7);
  }
  return { field: 0, start: 0, end: 0 };
}

/** Reads a chat.v1.Message's seq, client_message_id and text. */
export function scanMessage(buf: Buffer, start: number, end: number, out: ScannedFields): ScannedFields {
  out.clientMessageId = "";
  out.text = "";
  out.seq = 0;
  let pos = start;
  while (pos < end) {
    const [tag, p] = varint(buf, pos);
    const field = tag >>> 3;
    if (field === 3 && (tag & 7) === 0) {
      [out.seq, pos] = varint(buf, p);
    } else if ((field === 6 || field === 7) && (tag & 7) === 2) {
      const [len, q] = varint(buf, p);
      const s = buf.toString("latin1", q, q + len);
      if (field === 6) out.clientMessageId = s;
      else out.text = s;
      pos = q + len;
    } else {
      pos = skip(buf, p, tag & 7);
    }
  }
  return out;
}

/** Reads a gateway.v1.SendResult's client_message_id, duplicate and error_code. */
export function scanSendResult(buf: Buffer, start: number, end: number, out: ScannedFields): ScannedFields {
  out.clientMessageId = "";
  out.errorCode = 0;
  out.duplicate = false;
  let pos = start;
  while (pos < end) {
    const [tag, p] = varint(buf, pos);
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const [len, q] = varint(buf, p);
      out.clientMessageId = buf.toString("latin1", q, q + len);
      pos = q + len;
    } else if (field === 4 && (tag & 7) === 0) {
      [out.errorCode, pos] = varint(buf, p);
    } else if (field === 3 && (tag & 7) === 0) {
      let v: number;
      [v, pos] = varint(buf, p);
      out.duplicate = v !== 0;
    } else {
      pos = skip(buf, p, tag & 7);
    }
  }
  return out;
}
