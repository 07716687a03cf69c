import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import test from 'ava';
import { createLoop } from '../reconcilers/runtime/loop.js';
import { silentLogger } from '../src/logging/types.js';
import { collectProcessMetrics } from '../src/metrics/process.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { startMetricsServer } from '../src/metrics/server.js';
import { harness } from './helpers/runtime-harness.js';

const PROMTOOL = '/usr/bin/promtool';

test('GET /metrics serves the text exposition; every other request is a 404', async (t) => {
  const metrics = createMetricsRegistry();
  metrics.registerLoop({ name: 'images', actionKinds: ['pull', 'remove'], maxConcurrentReconciles: 2 });
  const server = await startMetricsServer({ registry: metrics, host: '127.0.0.1', port: 0, logger: silentLogger });
  try {
    t.true(server.port > 0);
    const base = `http://127.0.0.1:${server.port}`;
    const ok = await fetch(`${base}/metrics`);
    t.is(ok.status, 200);
    t.is(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const body = await ok.text();
    t.true(body.includes('workqueue_depth{name="images"} 0'));
    t.true(body.includes('ecs_agent_reconcile_total{loop="images",result="success"} 0'));
    t.is((await fetch(`${base}/metrics?debug=1`)).status, 200);
    for (const [path, method] of [
      ['/', 'GET'],
      ['/metricsx', 'GET'],
      ['/metrics/extra', 'GET'],
      ['/metrics', 'POST'],
    ] as const) {
      const response = await fetch(base + path, { method });
      t.is(response.status, 404, `${method} ${path}`);
      await response.arrayBuffer();
    }
  } finally {
    await server.close();
  }
  await t.throwsAsync(fetch(`http://127.0.0.1:${server.port}/metrics`), undefined, 'closed');
});

test('a port in use is reported, not ignored', async (t) => {
  const metrics = createMetricsRegistry();
  const first = await startMetricsServer({ registry: metrics, port: 0, logger: silentLogger });
  try {
    await t.throwsAsync(startMetricsServer({ registry: metrics, port: first.port, logger: silentLogger }), {
      code: 'EADDRINUSE',
    });
  } finally {
    await first.close();
  }
});

// promtool comes from Debian's `prometheus` package (toolchain.md); without it this lint cannot run here.
const withPromtool = existsSync(PROMTOOL) ? test : test.skip;

withPromtool('promtool check metrics passes on the served text of a busy loop', async (t) => {
  const h = harness({ maxQueueDepth: 1 });
  collectProcessMetrics(h.metrics);
  h.world.desired.set('a', 2);
  h.world.converged('b', 'c');
  const loop = createLoop(h.world.definition(), h.deps);
  await loop.syncOnce();
  const server = await startMetricsServer({ registry: h.metrics, port: 0, logger: silentLogger });
  try {
    const body = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    t.true(body.includes('ecs_agent_reconcile_total{loop="world",result="requeue"} 1'));
    t.true(body.includes('process_cpu_seconds_total'));
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    t.is(lint.status, 0, `promtool: ${lint.stdout}${lint.stderr}`);
  } finally {
    await server.close();
  }
});
