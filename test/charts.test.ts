// The shipped Prometheus rules are valid and only reference metrics the agent exports.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import test from 'ava';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { REPO_ROOT } from './helpers/agent-process.js';

const RULES = `${REPO_ROOT}/charts/prometheus/ecsd-alerts.rules.yml`;

test('promtool check rules accepts the alert rules', async (t) => {
  const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', RULES]);
  t.regex(stdout, /SUCCESS: \d+ rules found/);
});

test('the rules reference only metrics the agent registers', async (t) => {
  const metrics = createMetricsRegistry();
  metrics.registerLoop({ name: 'containers', actionKinds: ['record'], maxConcurrentReconciles: 1 });
  const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  const referenced = new Set(
    [...readFileSync(RULES, 'utf8').matchAll(/\b((?:ecs_agent|workqueue)_[a-z_]+)/g)].map((m) => m[1]!),
  );
  t.true(referenced.size > 0);
  for (const name of referenced) t.true(exported.has(name), `${name} is exported`);
});
