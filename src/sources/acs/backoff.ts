/**
 * Upstream's exponential backoff (fact sheet 0): each `next()` returns `current + rand[0, current × jitter)`,
 * then `current = min(max, current × multiplier)`; `reset()` goes back to `min`. The random source is passed
 * in so a schedule can be pinned in tests.
 */

export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  multiplier: number;
  /** Fraction of the current delay added at random on top of it. */
  jitterFraction: number;
}

/** ACS reconnects: 250 ms → 2 min, ×1.5, 20 % jitter (fact sheet 2.7). */
export const ACS_RECONNECT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  minMs: 250,
  maxMs: 120_000,
  multiplier: 1.5,
  jitterFraction: 0.2,
});

export class ExponentialBackoff {
  #currentMs: number;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {
    this.#currentMs = policy.minMs;
  }

  next(): number {
    const delayMs = this.#currentMs + this.random() * this.#currentMs * this.policy.jitterFraction;
    this.#currentMs = Math.min(this.policy.maxMs, this.#currentMs * this.policy.multiplier);
    return delayMs;
  }

  reset(): void {
    this.#currentMs = this.policy.minMs;
  }
}

/** `baseMs` plus a uniformly random extra in `[0, jitterMs)` (fact sheet 0, "Jitter J"). */
export function withJitter(baseMs: number, jitterMs: number, random: () => number): number {
  return baseMs + random() * jitterMs;
}
