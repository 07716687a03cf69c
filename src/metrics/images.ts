/**
 * Image pull metrics (issue 12): `ecs_agent_image_pulls_total{result}`, `ecs_agent_image_pull_duration_seconds`
 * and `ecs_agent_image_pulls_in_flight`. `result` is `success` or the failure's kind (a closed union), never
 * an image reference: cardinality is bounded by construction. Cleanup: `ecs_agent_image_cleanup_removed_total{trigger}`
 * (images and non-ECS containers removed, by what started the cycle) and `ecs_agent_image_cleanup_errors_total`
 * (removals that failed and were skipped). A pull counts once, however many attempts it
 * made, and only when it reached the registry: one that the agent's shutdown cancelled is not counted.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  IMAGE_CLEANUP_TRIGGERS,
  type ImageCleanupTrigger,
  PULL_RESULTS,
  type PullResult,
} from '../model/image-pull.js';

/** From a cached layer check (~0.1 s) to a multi-GB image (~15 min). */
const PULL_DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export interface ImageFamilies {
  /** A pull ended: its result and how long it took, all attempts together. */
  observePull(result: PullResult, durationSeconds: number): void;
  pullStarted(): void;
  pullEnded(): void;
  /** One cleanup removal done (an image with all its names, or a non-ECS container). */
  cleanupRemoved(trigger: ImageCleanupTrigger): void;
  /** One cleanup removal failed and was skipped for this cycle. */
  cleanupFailed(): void;
}

export function createImageFamilies(registry: Registry): ImageFamilies {
  const pulls = new Counter({
    name: 'ecs_agent_image_pulls_total',
    help: 'Image pulls that ended, by result: success or the kind of failure (auth, not_found, rate_limited, network, disk_full, timeout, unknown).',
    labelNames: ['result'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'ecs_agent_image_pull_duration_seconds',
    help: 'Time from the start of an image pull to its end (every attempt together), successful or not.',
    buckets: PULL_DURATION_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'ecs_agent_image_pulls_in_flight',
    help: 'Image pulls running now (one per image reference at most).',
    registers: [registry],
  });
  const cleanupRemoved = new Counter({
    name: 'ecs_agent_image_cleanup_removed_total',
    help: 'Images (with all their names) and non-ECS containers removed by image cleanup, by trigger: interval or disk-pressure.',
    labelNames: ['trigger'],
    registers: [registry],
  });
  const cleanupErrors = new Counter({
    name: 'ecs_agent_image_cleanup_errors_total',
    help: 'Image cleanup removals that failed (for example an image a container still uses) and were skipped for the cycle.',
    registers: [registry],
  });
  // Every series present from start-up, so dashboards and alerts see 0 rather than no series.
  for (const result of PULL_RESULTS) pulls.inc({ result }, 0);
  inFlight.set(0);
  for (const trigger of IMAGE_CLEANUP_TRIGGERS) cleanupRemoved.inc({ trigger }, 0);
  cleanupErrors.inc(0);
  return {
    observePull(result, durationSeconds) {
      pulls.inc({ result });
      duration.observe(durationSeconds);
    },
    pullStarted: () => inFlight.inc(),
    pullEnded: () => inFlight.dec(),
    cleanupRemoved: (trigger) => cleanupRemoved.inc({ trigger }),
    cleanupFailed: () => cleanupErrors.inc(),
  };
}
