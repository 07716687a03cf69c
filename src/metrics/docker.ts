/**
 * Docker operations by operation and result, and their latency. Operation names are the engine wrapper's
 * closed list, so the label's cardinality is bounded by construction; every series exists from start-up.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export const DOCKER_OPERATIONS = [
  'negotiate',
  'ping',
  'info',
  'version',
  'list',
  'inspect',
  'create',
  'start',
  'stop',
  'remove',
  'listImages',
  'inspectImage',
  'pull',
  'removeImage',
  'listVolumes',
  'inspectVolume',
  'createVolume',
  'removeVolume',
  'listNetworks',
  'stats',
  'exec',
  'events',
] as const;
export type DockerOperation = (typeof DOCKER_OPERATIONS)[number];

/** From 1 ms to ~4 min: inspects take milliseconds, stops wait out grace periods. */
const DOCKER_LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240];

export interface DockerFamilies {
  observe(operation: string, durationMs: number, ok: boolean): void;
  /** One informer relist pass (every kind), as insurance or after the event stream reconnected. */
  observeRelist(durationMs: number): void;
}

export function createDockerFamilies(registry: Registry): DockerFamilies {
  const operations = new Counter({
    name: 'ecs_agent_docker_operations_total',
    help: 'Docker Engine API calls made by the agent, by operation and result.',
    labelNames: ['operation', 'result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'ecs_agent_docker_operation_duration_seconds',
    help: 'Latency of Docker Engine API calls made by the agent, by operation.',
    labelNames: ['operation'] as const,
    buckets: DOCKER_LATENCY_BUCKETS,
    registers: [registry],
  });
  for (const operation of DOCKER_OPERATIONS) {
    operations.inc({ operation, result: 'success' }, 0);
    operations.inc({ operation, result: 'error' }, 0);
    duration.zero({ operation });
  }
  const relist = new Histogram({
    name: 'ecs_agent_docker_relist_duration_seconds',
    help: 'Duration of a full relist of Docker by the informer (containers, images, volumes, networks).',
    buckets: DOCKER_LATENCY_BUCKETS,
    registers: [registry],
  });
  const known = new Set<string>(DOCKER_OPERATIONS);
  return {
    observeRelist(durationMs) {
      relist.observe(durationMs / 1000);
    },
    observe(operation, durationMs, ok) {
      // An operation outside the closed list would be a new label value: fold it rather than grow cardinality.
      const label = known.has(operation) ? operation : 'other';
      operations.inc({ operation: label, result: ok ? 'success' : 'error' });
      duration.observe({ operation: label }, durationMs / 1000);
    },
  };
}
