/**
 * A lint-clean subset of process metrics, with the names Prometheus' client libraries use, for agents that
 * want them. prom-client's `collectDefaultMetrics` is not used because some of its gauges end in `_total`
 * and fail `promtool check metrics` (toolchain.md).
 */
import { Counter, Gauge } from 'prom-client';
import type { MetricsRegistry } from './registry.js';

const MARKER_METRIC = 'process_start_time_seconds';

/** Register the process metrics in `metrics`' registry. Calling it again on the same registry is a no-op. */
export function collectProcessMetrics(metrics: MetricsRegistry): void {
  const registry = metrics.registry;
  if (registry.getSingleMetric(MARKER_METRIC) !== undefined) return;
  const registers = [registry];

  // performance.timeOrigin is when this process started, in ms since the epoch.
  const startTimeSeconds = Math.round(performance.timeOrigin / 1000);
  new Gauge({
    name: MARKER_METRIC,
    help: 'Start time of the process since unix epoch in seconds.',
    registers,
    collect() {
      this.set(startTimeSeconds);
    },
  });
  new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      this.reset();
      this.inc(process.cpuUsage().user / 1e6);
    },
  });
  new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'Total system CPU time spent in seconds.',
    registers,
    collect() {
      this.reset();
      this.inc(process.cpuUsage().system / 1e6);
    },
  });
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers,
    collect() {
      const usage = process.cpuUsage();
      this.reset();
      this.inc((usage.user + usage.system) / 1e6);
    },
  });
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'nodejs_heap_size_total_bytes',
    help: 'Process heap size from Node.js in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapTotal);
    },
  });
  new Gauge({
    name: 'nodejs_heap_size_used_bytes',
    help: 'Process heap size used from Node.js in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'nodejs_external_memory_bytes',
    help: 'Node.js external memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage().external);
    },
  });
}
