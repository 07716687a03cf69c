/**
 * The client-go work-queue metric family, with client-go's exact names, `name` label and buckets so the
 * dashboards and alerts written for Kubernetes controllers read ecsd's loops unchanged (design.md, Metrics).
 * Two ecsd additions describe push-back, which client-go's unbounded queue does not have.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { changedValuesOnly } from './gauge-setter.js';

/**
 * client-go's `prometheus.ExponentialBuckets(10e-9, 10, 10)`: 10 ns … 10 s. Written out as literals because
 * `1e-8 * 10 ** i` accumulates float noise (1.0000000000000001e-7) that would show up in the `le` labels.
 */
export const WORKQUEUE_DURATION_BUCKETS_SECONDS: readonly number[] = [
  1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10,
];

/** Work that has started and not finished, computed on scrape (client-go refreshes it every 500 ms instead). */
export interface WorkQueueInFlight {
  unfinishedWorkSeconds: number;
  longestRunningProcessorSeconds: number;
}

/** What one work queue reports; bound to its `name` label. The runtime's queue depends only on this. */
export interface WorkQueueMetrics {
  setDepth(depth: number): void;
  incAdds(): void;
  observeQueueSeconds(seconds: number): void;
  observeWorkSeconds(seconds: number): void;
  incRetries(): void;
  /** An add refused because the queue was full (the key waits in the overflow set). */
  incRejectedAdds(): void;
  setOverflowKeys(count: number): void;
  /** Read on every scrape for the unfinished-work and longest-running-processor gauges. */
  setInFlightProvider(provider: () => WorkQueueInFlight): void;
}

const noop = (): void => {};

export const noopWorkQueueMetrics: WorkQueueMetrics = {
  setDepth: noop,
  incAdds: noop,
  observeQueueSeconds: noop,
  observeWorkSeconds: noop,
  incRetries: noop,
  incRejectedAdds: noop,
  setOverflowKeys: noop,
  setInFlightProvider: noop,
};

export interface WorkQueueFamilies {
  readonly depth: Gauge<'name'>;
  readonly adds: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunningProcessor: Gauge<'name'>;
  readonly retries: Counter<'name'>;
  readonly rejectedAdds: Counter<'loop'>;
  readonly overflowKeys: Gauge<'loop'>;
  /** Create every series of one queue at 0 and return its bound handle. */
  bind(name: string): WorkQueueMetrics;
}

export function createWorkQueueFamilies(registry: Registry): WorkQueueFamilies {
  const registers = [registry];
  const inFlightProviders = new Map<string, () => WorkQueueInFlight>();

  const depth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name'],
    registers,
  });
  const adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name'],
    registers,
  });
  const queueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested.',
    labelNames: ['name'],
    buckets: [...WORKQUEUE_DURATION_BUCKETS_SECONDS],
    registers,
  });
  const workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name'],
    buckets: [...WORKQUEUE_DURATION_BUCKETS_SECONDS],
    registers,
  });
  const unfinishedWork: Gauge<'name'> = new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help:
      "How many seconds of work has done that is in progress and hasn't been observed by work_duration. " +
      'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate ' +
      'at which this increases.',
    labelNames: ['name'],
    registers,
    collect: () => {
      for (const [name, provider] of inFlightProviders) unfinishedWork.set({ name }, provider().unfinishedWorkSeconds);
    },
  });
  const longestRunningProcessor: Gauge<'name'> = new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: ['name'],
    registers,
    collect: () => {
      for (const [name, provider] of inFlightProviders) {
        longestRunningProcessor.set({ name }, provider().longestRunningProcessorSeconds);
      }
    },
  });
  const retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name'],
    registers,
  });
  const rejectedAdds = new Counter({
    name: 'ecs_agent_workqueue_rejected_adds_total',
    help: "Adds refused because the loop's queue held its maximum depth; the key waits in a bounded overflow set.",
    labelNames: ['loop'],
    registers,
  });
  const overflowKeys = new Gauge({
    name: 'ecs_agent_workqueue_overflow_keys',
    help: 'Keys waiting outside a full queue to be moved in as space frees.',
    labelNames: ['loop'],
    registers,
  });

  function bind(name: string): WorkQueueMetrics {
    const q = { name };
    const l = { loop: name };
    depth.set(q, 0);
    adds.inc(q, 0);
    queueDuration.zero(q);
    workDuration.zero(q);
    unfinishedWork.set(q, 0);
    longestRunningProcessor.set(q, 0);
    retries.inc(q, 0);
    rejectedAdds.inc(l, 0);
    overflowKeys.set(l, 0);
    return {
      setDepth: changedValuesOnly((value) => depth.set(q, value), 0),
      incAdds: () => adds.inc(q),
      observeQueueSeconds: (seconds) => queueDuration.observe(q, seconds),
      observeWorkSeconds: (seconds) => workDuration.observe(q, seconds),
      incRetries: () => retries.inc(q),
      incRejectedAdds: () => rejectedAdds.inc(l),
      setOverflowKeys: changedValuesOnly((count) => overflowKeys.set(l, count), 0),
      setInFlightProvider: (provider) => {
        inFlightProviders.set(name, provider);
      },
    };
  }

  return {
    depth,
    adds,
    queueDuration,
    workDuration,
    unfinishedWork,
    longestRunningProcessor,
    retries,
    rejectedAdds,
    overflowKeys,
    bind,
  };
}
