/**
 * Issue 10 §6, end to end: `ecsd --tasks-dir <missing>` gets past the Docker and store checks, finds the
 * directory missing, and exits 5 (terminal: ecs-init stops restarting it, fact sheet 13), not 1.
 * Needs the engine (the agent pings Docker before it looks at the tasks directory).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { agentNodeFlags, MAIN_JS } from '../helpers/agent-process.js';

function runAgent(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...agentNodeFlags(), MAIN_JS, ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('a tasks directory that does not exist exits 5 with a message naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ecsd-exit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'no-such-tasks');
  const { code, output } = await runAgent(['--tasks-dir', missing], {
    ECS_DATADIR: join(dir, 'data'),
    ECS_CLUSTER: 'exit-code-test',
    ECSD_CONFIG_FILE: '/dev/null',
    ECSD_METRICS_ADDRESS: '127.0.0.1:0',
    ECS_LOG_OUTPUT_FORMAT: 'json',
  });
  t.is(code, 5, output);
  t.true(output.includes(missing), output);
});
