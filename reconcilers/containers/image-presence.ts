/**
 * Which image references exist in the local engine: a small cache over `docker image inspect`. Present
 * answers are kept (an image the agent depends on is not removed behind its back often), absent ones are
 * re-checked after a short TTL so a manual `docker load` is noticed without hammering the engine. Entries are
 * keyed by the normalised reference, so the images loop's `invalidate(ref)` after a pull reaches every
 * spelling a task used (`busybox`, `docker.io/library/busybox:latest`).
 */
import { normalizeImageRef } from '../../src/docker/informer-images.js';
import type { DockerEngine } from '../../src/docker/types.js';

export interface ImagePresence {
  present(refs: readonly string[]): Promise<ReadonlySet<string>>;
  /** Forget what is known (after a pull or a removal), of one reference in any spelling or of all. */
  invalidate(ref?: string): void;
}

export function createImagePresence(options: {
  engine: DockerEngine;
  nowMs: () => number;
  absentTtlMs?: number;
  presentTtlMs?: number;
}): ImagePresence {
  const absentTtlMs = options.absentTtlMs ?? 5_000;
  const presentTtlMs = options.presentTtlMs ?? 5 * 60_000;
  const known = new Map<string, { present: boolean; checkedAtMs: number }>();
  const inflight = new Map<string, Promise<boolean>>();
  /** Bumped by invalidate(): an inspect that started before it must not cache its (possibly stale) answer. */
  const epochs = new Map<string, number>();
  let globalEpoch = 0;
  const epochOf = (ref: string): string => `${globalEpoch}/${epochs.get(ref) ?? 0}`;

  async function check(image: string): Promise<boolean> {
    const ref = normalizeImageRef(image);
    const cached = known.get(ref);
    const now = options.nowMs();
    if (cached && now - cached.checkedAtMs < (cached.present ? presentTtlMs : absentTtlMs)) return cached.present;
    let pending = inflight.get(ref);
    if (!pending) {
      const startedEpoch = epochOf(ref);
      const request: Promise<boolean> = options.engine
        .inspectImage(image)
        .then((image) => {
          if (epochOf(ref) === startedEpoch) {
            known.set(ref, { present: image !== undefined, checkedAtMs: options.nowMs() });
          }
          return image !== undefined;
        })
        .finally(() => {
          if (inflight.get(ref) === request) inflight.delete(ref);
        });
      pending = request;
      inflight.set(ref, request);
    }
    return pending;
  }

  return {
    async present(refs) {
      const unique = [...new Set(refs)];
      const answers = await Promise.all(unique.map(check));
      return new Set(unique.filter((_, i) => answers[i]));
    },
    invalidate(ref) {
      if (ref === undefined) {
        globalEpoch++;
        known.clear();
        inflight.clear();
      } else {
        ref = normalizeImageRef(ref);
        epochs.set(ref, (epochs.get(ref) ?? 0) + 1);
        known.delete(ref);
        inflight.delete(ref);
      }
    },
  };
}
