// The README's generated tables match the config schema and the metrics the agent registers.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { renderReadme } from '../src/docs/readme-tables.js';
import { REPO_ROOT } from './helpers/agent-process.js';

test('README configuration and metrics tables are current (run `npm run readme` after changing them)', async (t) => {
  const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
  t.is(await renderReadme(readme, `${REPO_ROOT}/schemas/config.schema.json`), readme);
});

test('README names every ECSD_ variable and every Makefile target it promises', (t) => {
  const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
  for (const name of ['ECSD_TASKS_DIR', 'ECSD_METRICS_ADDRESS', 'ECSD_CONFIG_FILE'])
    t.true(readme.includes(name), name);
  const makefile = readFileSync(`${REPO_ROOT}/Makefile`, 'utf8');
  for (const target of ['run', 'test', 'bench']) t.regex(makefile, new RegExp(`^${target}:`, 'm'));
});
