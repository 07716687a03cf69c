/**
 * The agent's metrics registry: one NEW prom-client Registry per agent (never prom-client's global one, so
 * tests and several agents in one process never share series), holding every metric definition. It is
 * created once and passed in; nothing registers metrics at import time.
 *
 * Default Node metrics are off on purpose: prom-client's `nodejs_active_*_total` gauges fail
 * `promtool check metrics` (toolchain.md); `collectProcessMetrics()` adds a lint-clean subset.
 */
import { Counter, Registry } from 'prom-client';
import { InternalError } from '../errors.js';
import { type AcsFamilies, createAcsFamilies } from './acs.js';
import { type AdmissionFamilies, createAdmissionFamilies } from './admission.js';
import { createDockerFamilies, type DockerFamilies } from './docker.js';
import { createEcsApiFamilies, type EcsApiFamilies } from './ecs-api.js';
import { createImageFamilies, type ImageFamilies } from './images.js';
import {
  createReconcileFamilies,
  type LoopMetricsSpec,
  type LoopReconcileMetrics,
  type ReconcileFamilies,
} from './reconcile.js';
import { createWorkQueueFamilies, type WorkQueueFamilies, type WorkQueueMetrics } from './workqueue.js';

/** One loop's bound metric handles: its work queue (`name` label) and its reconciles (`loop` label). */
export interface LoopMetrics {
  readonly queue: WorkQueueMetrics;
  readonly reconcile: LoopReconcileMetrics;
}

export interface MetricsRegistry {
  /** The underlying prom-client registry (for extra collectors and the HTTP handler). */
  readonly registry: Registry;
  readonly workqueue: WorkQueueFamilies;
  readonly reconcile: ReconcileFamilies;
  /** Docker Engine API calls (`ecs_agent_docker_operations_total`, `…_duration_seconds`). */
  readonly docker: DockerFamilies;
  /** ECS API calls (`ecs_agent_ecs_api_calls_total{operation,result}`, `…_call_duration_seconds`). */
  readonly ecsApi: EcsApiFamilies;
  /** `ecs_agent_store_write_errors_total{reason}`: desired-state writes that failed and will be retried. */
  readonly storeWriteErrors: Counter<'reason'>;
  /** `ecs_agent_tasks_waiting{resource}`: tasks waiting for host resources (admission). */
  readonly admission: AdmissionFamilies;
  /** `ecs_agent_image_pulls_total{result}`, `…_pull_duration_seconds`, `…_pulls_in_flight` (images loop). */
  readonly images: ImageFamilies;
  /** ACS session: `ecs_agent_acs_connected`, `…_reconnects_total`, `…_messages_total{type}`, `…_seconds_since_last_message`. */
  readonly acs: AcsFamilies;
  /** Prometheus text exposition content type (`text/plain; version=0.0.4; charset=utf-8`). */
  readonly contentType: string;
  /**
   * Declare a loop: every series of its queue and reconcile families is created at 0 now, so dashboards see
   * the loop from start-up. A loop name may be registered once per registry.
   */
  registerLoop(spec: LoopMetricsSpec): LoopMetrics;
  /** The loop names registered so far, in registration order. */
  loopNames(): readonly string[];
  /** The text exposition of every metric. */
  metricsText(): Promise<string>;
  /**
   * One sample's current value, or undefined if the series does not exist. For histograms pass the sample
   * name (`…_count`, `…_sum`, `…_bucket` with an `le` label). Labels must match exactly.
   */
  sampleValue(sampleName: string, labels?: Record<string, string>): Promise<number | undefined>;
}

/** Why a store write failed: SQLITE_FULL, other I/O errors, a damaged database, anything else. */
export const STORE_WRITE_ERROR_REASONS = ['disk_full', 'io', 'corrupt', 'other'] as const;
export type StoreWriteErrorReason = (typeof STORE_WRITE_ERROR_REASONS)[number];

const HISTOGRAM_SUFFIXES = ['_bucket', '_count', '_sum'] as const;

export function createMetricsRegistry(): MetricsRegistry {
  const registry = new Registry();
  const workqueue = createWorkQueueFamilies(registry);
  const reconcile = createReconcileFamilies(registry);
  const docker = createDockerFamilies(registry);
  const ecsApi = createEcsApiFamilies(registry);
  const admission = createAdmissionFamilies(registry);
  const images = createImageFamilies(registry);
  const acs = createAcsFamilies(registry);
  const loops: string[] = [];
  const storeWriteErrors = new Counter({
    name: 'ecs_agent_store_write_errors_total',
    help: 'Desired-state store writes that failed (a source retries them with backoff), by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of STORE_WRITE_ERROR_REASONS) storeWriteErrors.inc({ reason }, 0);

  function registerLoop(spec: LoopMetricsSpec): LoopMetrics {
    if (loops.includes(spec.name)) {
      throw new InternalError(`loop "${spec.name}" is already registered in this metrics registry`, {
        errorClass: 'terminal',
        context: { loop: spec.name },
      });
    }
    loops.push(spec.name);
    return { queue: workqueue.bind(spec.name), reconcile: reconcile.bind(spec) };
  }

  async function sampleValue(sampleName: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const suffix = HISTOGRAM_SUFFIXES.find((s) => sampleName.endsWith(s));
    const metric =
      registry.getSingleMetric(sampleName) ??
      (suffix === undefined ? undefined : registry.getSingleMetric(sampleName.slice(0, -suffix.length)));
    if (metric === undefined) return undefined;
    const data = await metric.get();
    const wanted = Object.entries(labels);
    for (const sample of data.values as Array<{ value: number; labels: object; metricName?: string }>) {
      const name = sample.metricName ?? data.name;
      if (name !== sampleName) continue;
      const have = sample.labels as Record<string, string | number>;
      if (Object.keys(have).length !== wanted.length) continue;
      if (wanted.every(([k, v]) => String(have[k]) === v)) return sample.value;
    }
    return undefined;
  }

  return {
    registry,
    workqueue,
    reconcile,
    docker,
    ecsApi,
    admission,
    images,
    acs,
    storeWriteErrors,
    contentType: registry.contentType,
    registerLoop,
    loopNames: () => [...loops],
    metricsText: () => registry.metrics(),
    sampleValue,
  };
}
