// Start-up checks of the agent that need no engine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { apiVersionBelow } from '../src/agent/agent.js';
import { agentNodeFlags, MAIN_JS } from './helpers/agent-process.js';

test('Docker API versions compare numerically, and an unreadable one is not judged', (t) => {
  t.true(apiVersionBelow('1.20', '1.21'));
  t.false(apiVersionBelow('1.21', '1.21'));
  t.false(apiVersionBelow('1.41', '1.21'));
  t.false(apiVersionBelow('1.100', '1.21'), 'minor versions are numbers, not strings');
  t.false(apiVersionBelow('', '1.21'));
});

test('ecsd runs straight from its shebang, which carries its node flags, and the harness uses them', async (t) => {
  t.deepEqual(agentNodeFlags(), ['--no-memory-reducer', '--min-semi-space-size=8']);
  const { stdout } = await promisify(execFile)(MAIN_JS, ['-version']);
  t.regex(stdout, /Amazon ECS Agent \(ecsd\)/);
});
