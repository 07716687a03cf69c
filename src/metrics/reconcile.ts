/**
 * Reconcile metrics, mirroring controller-runtime's `controller_runtime_*` family under the `ecs_agent_`
 * prefix with label `loop` (design.md, Metrics). Every label value comes from a closed list (results,
 * the loop's declared action kinds, ERROR_CODES), so cardinality is bounded by construction and every
 * series can exist at 0 from start-up.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { changedValuesOnly } from './gauge-setter.js';

export const RECONCILE_RESULTS = ['success', 'error', 'requeue', 'requeue_after'] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

/** controller-runtime's `controller_runtime_reconcile_time_seconds` buckets, 5 ms … 60 s. */
export const RECONCILE_TIME_BUCKETS_SECONDS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** What one loop reports; bound to its `loop` label. */
export interface LoopReconcileMetrics {
  incResult(result: ReconcileResult): void;
  incErrors(): void;
  incTerminalErrors(code: ErrorCode): void;
  observeReconcileSeconds(seconds: number): void;
  setActiveWorkers(count: number): void;
  setLastSuccess(timestampSeconds: number): void;
  /** `kind` must be one of the loop's declared action kinds (the runtime checks before counting). */
  incPlannedActions(kind: string, count?: number): void;
}

export interface LoopMetricsSpec {
  name: string;
  /** The loop's closed action-kind list: the only values of the `action` label. */
  actionKinds: readonly string[];
  maxConcurrentReconciles: number;
}

/** The agent-wide bound on concurrent Docker mutations (reconcilers/runtime/mutation-limiter.ts). */
export interface DockerMutationMetrics {
  setInFlight(count: number): void;
  setWaiting(count: number): void;
  setLimit(count: number): void;
}

export interface ReconcileFamilies {
  readonly reconcileTotal: Counter<'loop' | 'result'>;
  readonly reconcileErrors: Counter<'loop'>;
  readonly terminalErrors: Counter<'loop' | 'code'>;
  readonly reconcileTime: Histogram<'loop'>;
  readonly activeWorkers: Gauge<'loop'>;
  readonly maxConcurrentReconciles: Gauge<'loop'>;
  readonly lastSuccess: Gauge<'loop'>;
  readonly plannedActions: Counter<'loop' | 'action'>;
  /** Create every series of one loop at 0 and return its bound handle. */
  bind(spec: LoopMetricsSpec): LoopReconcileMetrics;
  /** Docker mutations running and waiting for a slot, across every loop. */
  readonly dockerMutations: DockerMutationMetrics;
}

export function createReconcileFamilies(registry: Registry): ReconcileFamilies {
  const registers = [registry];
  const reconcileTotal = new Counter({
    name: 'ecs_agent_reconcile_total',
    help: 'Total number of reconciliations per loop, by result.',
    labelNames: ['loop', 'result'],
    registers,
  });
  const reconcileErrors = new Counter({
    name: 'ecs_agent_reconcile_errors_total',
    help: 'Total number of reconciliation errors per loop.',
    labelNames: ['loop'],
    registers,
  });
  const terminalErrors = new Counter({
    name: 'ecs_agent_terminal_errors_total',
    help: 'Reconciliation errors classified terminal (recorded, not retried until the key changes), by error code.',
    labelNames: ['loop', 'code'],
    registers,
  });
  const reconcileTime = new Histogram({
    name: 'ecs_agent_reconcile_time_seconds',
    help: 'Length of time per reconciliation per loop.',
    labelNames: ['loop'],
    buckets: [...RECONCILE_TIME_BUCKETS_SECONDS],
    registers,
  });
  const activeWorkers = new Gauge({
    name: 'ecs_agent_active_workers',
    help: 'Number of currently used workers per loop.',
    labelNames: ['loop'],
    registers,
  });
  const maxConcurrentReconciles = new Gauge({
    name: 'ecs_agent_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per loop.',
    labelNames: ['loop'],
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'ecs_agent_loop_last_success_timestamp_seconds',
    help: 'Unix time of the last reconcile of the loop that finished without error (0 until one does).',
    labelNames: ['loop'],
    registers,
  });
  const plannedActions = new Counter({
    name: 'ecs_agent_planned_actions_total',
    help: 'Actions planned per loop, by action kind (applied, or only recorded in dry-run).',
    labelNames: ['loop', 'action'],
    registers,
  });

  const mutationsInFlight = new Gauge({
    name: 'ecs_agent_docker_mutations_in_flight',
    help: 'Docker mutations (create, start, remove, volume create/remove) running now, across every loop.',
    registers,
  });
  const mutationsWaiting = new Gauge({
    name: 'ecs_agent_docker_mutations_waiting',
    help: 'Docker mutations waiting for a slot of the concurrency bound (ECSD_MAX_CONCURRENT_DOCKER_MUTATIONS).',
    registers,
  });
  const mutationsLimit = new Gauge({
    name: 'ecs_agent_docker_mutations_limit',
    help: 'The bound on concurrent Docker mutations (ECSD_MAX_CONCURRENT_DOCKER_MUTATIONS).',
    registers,
  });
  mutationsInFlight.set(0);
  mutationsWaiting.set(0);
  mutationsLimit.set(0);
  const dockerMutations: DockerMutationMetrics = {
    setInFlight: changedValuesOnly((count) => mutationsInFlight.set(count), 0),
    setWaiting: changedValuesOnly((count) => mutationsWaiting.set(count), 0),
    setLimit: (count) => mutationsLimit.set(count),
  };

  function bind(spec: LoopMetricsSpec): LoopReconcileMetrics {
    const loop = spec.name;
    const l = { loop };
    for (const result of RECONCILE_RESULTS) reconcileTotal.inc({ loop, result }, 0);
    reconcileErrors.inc(l, 0);
    for (const code of ERROR_CODES) terminalErrors.inc({ loop, code }, 0);
    reconcileTime.zero(l);
    activeWorkers.set(l, 0);
    maxConcurrentReconciles.set(l, spec.maxConcurrentReconciles);
    lastSuccess.set(l, 0);
    for (const action of spec.actionKinds) plannedActions.inc({ loop, action }, 0);
    return {
      incResult: (result) => reconcileTotal.inc({ loop, result }),
      incErrors: () => reconcileErrors.inc(l),
      incTerminalErrors: (code) => terminalErrors.inc({ loop, code }),
      observeReconcileSeconds: (seconds) => reconcileTime.observe(l, seconds),
      setActiveWorkers: changedValuesOnly((count) => activeWorkers.set(l, count), 0),
      setLastSuccess: (timestampSeconds) => lastSuccess.set(l, timestampSeconds),
      incPlannedActions: (action, count = 1) => plannedActions.inc({ loop, action }, count),
    };
  }

  return {
    reconcileTotal,
    reconcileErrors,
    terminalErrors,
    reconcileTime,
    activeWorkers,
    maxConcurrentReconciles,
    lastSuccess,
    plannedActions,
    bind,
    dockerMutations,
  };
}
