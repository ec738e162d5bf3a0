/** How long the breaker stays open: the first period, and the bound it doubles up to. */
export interface CircuitBreakerSettings {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const defaultCircuitBreakerSettings: CircuitBreakerSettings = { baseMs: 250, maxMs: 5_000 };

/** What `tryCall` decided: go now (remember `startedAt` for `failed`), or answer at once. */
export type CallPermit = { readonly ok: true; readonly startedAt: number } | { readonly ok: false };

const refused: CallPermit = { ok: false };

/**
 * A gateway's view of whether a peer (the router) is reachable, so that an outage costs the
 * peer nothing when it returns and costs the gateway no calls meanwhile.
 *
 * Closed, every call goes. A call that fails for an outage opens it: for the open period
 * every call is refused at once; then one call goes through as a probe (half-open) while the
 * others are still refused; the probe's success closes the breaker, its failure opens it again
 * for twice as long, up to `maxMs`. Periods are jittered (±25 %) so gateways that lost the
 * same peer do not probe in step. Calls that started before the breaker opened and fail
 * afterwards do not lengthen the period: one outage is one step, however many calls it broke.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private openUntil = 0;
  private periodMs = 0;
  /** When the half-open probe started; 0 when none is out. */
  private probeAt = 0;

  constructor(
    readonly settings: CircuitBreakerSettings = defaultCircuitBreakerSettings,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** True from a failure until a call succeeds again (refusing, or letting one probe through once the period is over). */
  get isOpen(): boolean {
    return this.failures > 0;
  }

  /** May a call go now? While open, no; once the period is over, one call goes as the probe. */
  tryCall(): CallPermit {
    const now = this.now();
    if (this.failures === 0) return { ok: true, startedAt: now };
    // A probe that never settles (a hung peer) must not keep the breaker shut forever.
    const probeOut = this.probeAt > 0 && now - this.probeAt < this.settings.maxMs;
    if (probeOut || now < this.openUntil) return refused;
    this.probeAt = now;
    return { ok: true, startedAt: now };
  }

  /** A call reached the peer: the breaker closes. */
  succeeded(): void {
    this.failures = 0;
    this.probeAt = 0;
  }

  /** A call that started at `startedAt` failed for an outage. */
  failed(startedAt: number): void {
    if (this.failures > 0 && startedAt < this.openedAt) return;
    const now = this.now();
    this.failures++;
    this.probeAt = 0;
    const step = Math.min(this.settings.maxMs, this.settings.baseMs * 2 ** Math.min(this.failures - 1, 20));
    this.periodMs = Math.min(this.settings.maxMs, Math.round(step * (0.75 + this.random() / 2)));
    this.openedAt = now;
    this.openUntil = now + this.periodMs;
  }

  /**
   * How long a client whose send was refused now should wait before repeating it: the rest of
   * the open period plus up to half a period more (so the clients of one outage come back
   * spread out, behind the probe), never less than the base period (while the probe is out
   * the rest is unknown) and at most `maxMs`. While closed (a send failed without an outage
   * of the peer) the base period, jittered the same way.
   */
  retryAfterMs(): number {
    const { baseMs, maxMs } = this.settings;
    const period = this.failures > 0 ? this.periodMs : baseMs;
    const rest = Math.max(baseMs, this.failures > 0 ? this.openUntil - this.now() : 0);
    return Math.min(maxMs, Math.round(rest + (this.random() * period) / 2));
  }
}
