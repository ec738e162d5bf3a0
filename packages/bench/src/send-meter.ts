/** The parts of a send_result the meter reads (a decoded SendResult fits). */
export interface MeteredResult {
  readonly clientMessageId: string;
  /** 0 when stored. */
  readonly errorCode: number;
  readonly retryAfterMs: number;
}

/** What a device's sends cost, counted from the frames on its streams. */
export interface SendCost {
  /** Send frames written, first sends and repeats. */
  readonly framesSent: number;
  /** Distinct messages (client message ids). */
  readonly messages: number;
  /** Send frames beyond each message's first: every repeat, over all messages. */
  readonly repeats: number;
  /** Distinct messages acknowledged as stored. */
  readonly stored: number;
  /** Send results that refused a send. */
  readonly refusals: number;
  /** Refusals by gRPC status code number. */
  readonly refusalsByCode: Readonly<Record<number, number>>;
  /** Refusals that carried no retry_after_ms. */
  readonly refusalsWithoutHint: number;
  /** Messages refused at least once: the ones pending during the outage. */
  readonly pendingMessages: number;
  /** Repeats (frames beyond the first) per pending message: mean and largest. */
  readonly resendsPerPending: { readonly mean: number; readonly max: number };
  /** Streams the server ended with a status other than OK. */
  readonly streamCuts: number;
  /** Stream cuts by gRPC status code number. */
  readonly cutsByCode: Readonly<Record<number, number>>;
  /** go_away frames: the server asked the device to reconnect (not a cut). */
  readonly goAways: number;
}

/**
 * Counts what sends cost through an outage, from the frames a device writes and the answers
 * it gets, whatever drives the streams (raw gRPC streams, an SDK behind a tap, a load
 * generator): send frames, refusals and their hints, repeats per pending message, and
 * streams cut by the server. Feed it every send frame (`sent`), every send_result (`result`),
 * every go_away (`goAway`) and every end of a stream that the device did not ask for
 * (`streamEnded`).
 */
export class SendMeter {
  private framesSent = 0;
  private readonly framesOf = new Map<string, number>();
  private readonly stored = new Set<string>();
  private readonly refused = new Set<string>();
  private refusals = 0;
  private readonly refusalsByCode: Record<number, number> = {};
  private refusalsWithoutHint = 0;
  private streamCuts = 0;
  private readonly cutsByCode: Record<number, number> = {};
  private goAways = 0;

  /** A send frame was written. */
  sent(clientMessageId: string): void {
    this.framesSent++;
    this.framesOf.set(clientMessageId, (this.framesOf.get(clientMessageId) ?? 0) + 1);
  }

  /** A send_result arrived. */
  result(r: MeteredResult): void {
    if (r.errorCode === 0) {
      this.stored.add(r.clientMessageId);
      return;
    }
    this.refusals++;
    this.refused.add(r.clientMessageId);
    this.refusalsByCode[r.errorCode] = (this.refusalsByCode[r.errorCode] ?? 0) + 1;
    if (r.retryAfterMs <= 0) this.refusalsWithoutHint++;
  }

  /** A go_away arrived. */
  goAway(): void {
    this.goAways++;
  }

  /** The server ended a stream with this gRPC status code (0 = OK, a clean end). */
  streamEnded(code: number): void {
    if (code === 0) return;
    this.streamCuts++;
    this.cutsByCode[code] = (this.cutsByCode[code] ?? 0) + 1;
  }

  report(): SendCost {
    let repeats = 0;
    let max = 0;
    for (const id of this.refused) {
      const r = (this.framesOf.get(id) ?? 1) - 1;
      repeats += r;
      if (r > max) max = r;
    }
    const pending = this.refused.size;
    return {
      framesSent: this.framesSent,
      messages: this.framesOf.size,
      repeats: this.framesSent - this.framesOf.size,
      stored: this.stored.size,
      refusals: this.refusals,
      refusalsByCode: { ...this.refusalsByCode },
      refusalsWithoutHint: this.refusalsWithoutHint,
      pendingMessages: pending,
      resendsPerPending: { mean: pending > 0 ? repeats / pending : 0, max },
      streamCuts: this.streamCuts,
      cutsByCode: { ...this.cutsByCode },
      goAways: this.goAways,
    };
  }
}

/** One line for a report: `label: 22000 frames for 1148 messages (…)`. */
export function formatSendCost(label: string, c: SendCost): string {
  const codes = (m: Readonly<Record<number, number>>): string =>
    Object.entries(m)
      .map(([code, n]) => `${n}×${code}`)
      .join(" ") || "none";
  return (
    `${label}: ${c.framesSent} send frames for ${c.messages} messages (${c.repeats} repeats; ${c.stored} stored); ` +
    `${c.refusals} refusals [${codes(c.refusalsByCode)}], ${c.refusalsWithoutHint} without retry_after_ms; ` +
    `${c.pendingMessages} pending during the outage, resends per pending message mean ${c.resendsPerPending.mean.toFixed(2)} max ${c.resendsPerPending.max}; ` +
    `${c.streamCuts} stream cuts [${codes(c.cutsByCode)}], ${c.goAways} go_aways`
  );
}
