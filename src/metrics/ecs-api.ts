/**
 * ECS API calls by operation and result, and their latency. The operations are the closed list of calls the
 * agent makes (fact sheet 1.2) and the results a closed triple, so every series exists from start-up at 0 and
 * the label cardinality is bounded by construction.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export const ECS_API_OPERATIONS = [
  'DiscoverPollEndpoint',
  'RegisterContainerInstance',
  'CreateCluster',
  'SubmitTaskStateChange',
  'SubmitAttachmentStateChanges',
] as const;
export type EcsApiOperation = (typeof ECS_API_OPERATIONS)[number];

/** `throttled`: the service said ThrottlingException (or the SDK's client-side quota); `error`: any other failure. */
export const ECS_API_RESULTS = ['success', 'error', 'throttled'] as const;
export type EcsApiResult = (typeof ECS_API_RESULTS)[number];

/** 5 ms to the 42 s request timeout (fact sheet 1.1) and past it, for calls that retried inside the SDK. */
const ECS_API_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 126];

export interface EcsApiFamilies {
  observe(operation: EcsApiOperation, durationMs: number, result: EcsApiResult): void;
}

/** What the ECS client needs: one observation per call. */
export type EcsApiMetrics = EcsApiFamilies;

export function createEcsApiFamilies(registry: Registry): EcsApiFamilies {
  const calls = new Counter({
    name: 'ecs_agent_ecs_api_calls_total',
    help: 'ECS API calls made by the agent, by operation and result (success, error, throttled).',
    labelNames: ['operation', 'result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'ecs_agent_ecs_api_call_duration_seconds',
    help: 'Latency of ECS API calls made by the agent (SDK retries included), by operation.',
    labelNames: ['operation'] as const,
    buckets: ECS_API_LATENCY_BUCKETS,
    registers: [registry],
  });
  for (const operation of ECS_API_OPERATIONS) {
    for (const result of ECS_API_RESULTS) calls.inc({ operation, result }, 0);
    duration.zero({ operation });
  }
  return {
    observe(operation, durationMs, result) {
      calls.inc({ operation, result });
      duration.observe({ operation }, durationMs / 1000);
    },
  };
}
