#!/usr/bin/env node
// Reads TAP on stdin (ava's plus the build/lint lines test.sh prepends), echoes it so the run stays
// visible, and ends with the one plain line CI reads: `N passed, N failed`. Exits non-zero when anything
// failed, when ava exited non-zero, or when ava never printed a plan (it crashed before running tests).
import { createInterface } from 'node:readline';

let passed = 0;
let failed = 0;
let sawPlan = false;
let avaExit = 0;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const exit = /^# ava exit (\d+)/.exec(line);
  if (exit) avaExit = Number(exit[1]);
  else if (/^ok \d+/.test(line)) {
    // A skipped test is not a pass.
    if (!/# SKIP/i.test(line)) passed++;
  } else if (/^not ok \d+/.test(line)) {
    if (!/# TODO/i.test(line)) failed++;
  } else if (/^1\.\.\d+/.test(line)) {
    sawPlan = true;
  }
});
rl.on('close', () => {
  if (!sawPlan || (avaExit !== 0 && failed === 0)) failed++;
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 ? 1 : 0);
});
