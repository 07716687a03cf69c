import test from 'ava';
import { Gauge, Registry } from 'prom-client';
import { changedValuesOnly } from '../src/metrics/gauge-setter.js';

test('changedValuesOnly passes each change through and skips repeats of the last value', async (t) => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'test_depth', help: 'h', labelNames: ['name'], registers: [registry] });
  gauge.set({ name: 'q' }, 0);
  const calls: number[] = [];
  const setDepth = changedValuesOnly((value) => {
    calls.push(value);
    gauge.set({ name: 'q' }, value);
  }, 0);
  for (const value of [0, 3, 3, 1, 0, 0, 2]) setDepth(value);
  t.deepEqual(calls, [3, 1, 0, 2]);
  t.regex(await registry.metrics(), /^test_depth\{name="q"\} 2$/m);
});
