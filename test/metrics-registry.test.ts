import test from 'ava';
import { register as globalRegistry } from 'prom-client';
import { ERROR_CODES } from '../src/errors.js';
import { collectProcessMetrics } from '../src/metrics/process.js';
import { RECONCILE_RESULTS, RECONCILE_TIME_BUCKETS_SECONDS } from '../src/metrics/reconcile.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';

const LOOP = { name: 'containers', actionKinds: ['create', 'start', 'stop'], maxConcurrentReconciles: 8 };

/** The `le` values of one histogram series, as exposed. */
function bucketBounds(text: string, histogram: string, labelMatch: string): string[] {
  const bounds: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${histogram}_bucket{`) || !line.includes(labelMatch)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le !== undefined) bounds.push(le);
  }
  return bounds;
}

test('each registry is new and private: nothing lands in prom-client’s global registry', async (t) => {
  const a = createMetricsRegistry();
  const b = createMetricsRegistry();
  a.registerLoop(LOOP);
  b.registerLoop(LOOP);
  a.registerLoop({ ...LOOP, name: 'images' }).reconcile.incResult('success');
  t.is(globalRegistry.getMetricsAsArray().length, 0);
  t.is(await a.sampleValue('ecs_agent_reconcile_total', { loop: 'images', result: 'success' }), 1);
  t.is(await b.sampleValue('ecs_agent_reconcile_total', { loop: 'images', result: 'success' }), undefined);
  t.deepEqual(a.loopNames(), ['containers', 'images']);
});

test('registering a loop creates every label combination at 0', async (t) => {
  const metrics = createMetricsRegistry();
  metrics.registerLoop(LOOP);
  const loop = { loop: 'containers' };
  const queue = { name: 'containers' };
  for (const result of RECONCILE_RESULTS) {
    t.is(await metrics.sampleValue('ecs_agent_reconcile_total', { ...loop, result }), 0, result);
  }
  for (const code of ERROR_CODES) {
    t.is(await metrics.sampleValue('ecs_agent_terminal_errors_total', { ...loop, code }), 0, code);
  }
  for (const action of LOOP.actionKinds) {
    t.is(await metrics.sampleValue('ecs_agent_planned_actions_total', { ...loop, action }), 0, action);
  }
  for (const gauge of ['ecs_agent_active_workers', 'ecs_agent_loop_last_success_timestamp_seconds']) {
    t.is(await metrics.sampleValue(gauge, loop), 0, gauge);
  }
  t.is(await metrics.sampleValue('ecs_agent_reconcile_errors_total', loop), 0);
  t.is(await metrics.sampleValue('ecs_agent_reconcile_time_seconds_count', loop), 0);
  t.is(await metrics.sampleValue('ecs_agent_max_concurrent_reconciles', loop), 8);
  for (const name of [
    'workqueue_depth',
    'workqueue_adds_total',
    'workqueue_retries_total',
    'workqueue_unfinished_work_seconds',
    'workqueue_longest_running_processor_seconds',
    'workqueue_queue_duration_seconds_count',
    'workqueue_work_duration_seconds_count',
  ]) {
    t.is(await metrics.sampleValue(name, queue), 0, name);
  }
});

test('histograms use client-go and controller-runtime buckets exactly', async (t) => {
  const metrics = createMetricsRegistry();
  metrics.registerLoop(LOOP);
  const text = await metrics.metricsText();
  const clientGo = ['1e-8', '1e-7', '0.000001', '0.00001', '0.0001', '0.001', '0.01', '0.1', '1', '10', '+Inf'];
  t.deepEqual(bucketBounds(text, 'workqueue_queue_duration_seconds', 'name="containers"'), clientGo);
  t.deepEqual(bucketBounds(text, 'workqueue_work_duration_seconds', 'name="containers"'), clientGo);
  const controllerRuntime = bucketBounds(text, 'ecs_agent_reconcile_time_seconds', 'loop="containers"');
  t.is(controllerRuntime.length, 41);
  t.deepEqual(controllerRuntime.slice(0, -1).map(Number), [...RECONCILE_TIME_BUCKETS_SECONDS]);
  t.is(RECONCILE_TIME_BUCKETS_SECONDS[0], 0.005);
  t.is(RECONCILE_TIME_BUCKETS_SECONDS.at(-1), 60);
});

test('bound handles update their own series; in-flight gauges are read on scrape', async (t) => {
  const metrics = createMetricsRegistry();
  const loop = metrics.registerLoop(LOOP);
  loop.queue.setDepth(3);
  loop.queue.incAdds();
  loop.queue.incAdds();
  loop.queue.observeQueueSeconds(0.002);
  loop.reconcile.incResult('requeue_after');
  loop.reconcile.incTerminalErrors('CannotPullContainerError');
  loop.reconcile.incPlannedActions('start', 2);
  let runningSeconds = 1.5;
  loop.queue.setInFlightProvider(() => ({
    unfinishedWorkSeconds: runningSeconds * 2,
    longestRunningProcessorSeconds: runningSeconds,
  }));
  const q = { name: 'containers' };
  const l = { loop: 'containers' };
  t.is(await metrics.sampleValue('workqueue_depth', q), 3);
  t.is(await metrics.sampleValue('workqueue_adds_total', q), 2);
  t.is(await metrics.sampleValue('workqueue_queue_duration_seconds_bucket', { ...q, le: '0.001' }), 0);
  t.is(await metrics.sampleValue('workqueue_queue_duration_seconds_bucket', { ...q, le: '0.01' }), 1);
  t.is(await metrics.sampleValue('ecs_agent_reconcile_total', { ...l, result: 'requeue_after' }), 1);
  t.is(await metrics.sampleValue('ecs_agent_terminal_errors_total', { ...l, code: 'CannotPullContainerError' }), 1);
  t.is(await metrics.sampleValue('ecs_agent_planned_actions_total', { ...l, action: 'start' }), 2);
  t.is(await metrics.sampleValue('workqueue_longest_running_processor_seconds', q), 1.5);
  runningSeconds = 4;
  t.is(await metrics.sampleValue('workqueue_unfinished_work_seconds', q), 8);
  t.is(await metrics.sampleValue('workqueue_depth', { name: 'other' }), undefined);
});

test('a loop name can be registered once per registry', (t) => {
  const metrics = createMetricsRegistry();
  metrics.registerLoop(LOOP);
  t.throws(() => metrics.registerLoop(LOOP), { message: /already registered/ });
});

test('process metrics are off by default and added, once, by collectProcessMetrics', async (t) => {
  const metrics = createMetricsRegistry();
  t.false((await metrics.metricsText()).includes('process_'));
  collectProcessMetrics(metrics);
  collectProcessMetrics(metrics);
  const start = await metrics.sampleValue('process_start_time_seconds');
  t.true(start !== undefined && Math.abs(start - Date.now() / 1000) < 3600);
  t.true(((await metrics.sampleValue('process_resident_memory_bytes')) ?? 0) > 1_000_000);
  t.true(((await metrics.sampleValue('process_cpu_seconds_total')) ?? 0) > 0);
  t.true(((await metrics.sampleValue('nodejs_heap_size_used_bytes')) ?? 0) > 0);
  const text = await metrics.metricsText();
  t.is(text.split('\n').filter((line) => line === '# TYPE process_cpu_seconds_total counter').length, 1);
});
