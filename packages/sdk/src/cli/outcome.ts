/** A settle-once outcome that several sources (signals, /quit, the stream) may decide. */
export class Outcome {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Observed by whoever waits on it; this only keeps an early rejection from counting as unhandled.
    this.promise.catch(() => undefined);
  }
}
