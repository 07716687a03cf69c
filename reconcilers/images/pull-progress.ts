/**
 * Folds a pull's progress lines (one per layer event, many per second while downloading) into the two
 * things worth keeping: bytes downloaded of bytes known per layer, summed, and the layer milestones
 * (`Pulling fs layer`, `Download complete`, `Pull complete`, `Already exists`) that deserve a log line. Per-byte
 * lines only move the counters.
 */
import type { PullProgress } from '../../src/docker/types.js';

/** Statuses that mark a layer's step, logged once each; everything else is a byte count or chatter. */
const MILESTONES: ReadonlySet<string> = new Set([
  'Pulling fs layer',
  'Download complete',
  'Pull complete',
  'Already exists',
  'Verifying Checksum',
]);

export interface PullTotals {
  currentBytes: number;
  totalBytes: number;
}

export class PullProgressTracker {
  readonly #layers = new Map<string, { current: number; total: number }>();

  /** Records one line; returns the milestone text when the line is one (`<layer>: Pull complete`). */
  add(progress: PullProgress): string | undefined {
    const id = progress.id;
    if (id === undefined) return undefined;
    const layer = this.#layers.get(id) ?? { current: 0, total: 0 };
    if (progress.totalBytes !== undefined && progress.totalBytes > 0 && progress.status === 'Downloading') {
      layer.total = progress.totalBytes;
      layer.current = Math.min(progress.currentBytes ?? 0, progress.totalBytes);
    } else if (progress.status === 'Download complete' || progress.status === 'Pull complete') {
      layer.current = layer.total;
    }
    this.#layers.set(id, layer);
    return MILESTONES.has(progress.status) ? `${id}: ${progress.status}` : undefined;
  }

  totals(): PullTotals {
    let currentBytes = 0;
    let totalBytes = 0;
    for (const layer of this.#layers.values()) {
      currentBytes += layer.current;
      totalBytes += layer.total;
    }
    return { currentBytes, totalBytes };
  }
}
