// Start-up checks of the agent that need no engine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { AgentProcess, agentNodeFlags, MAIN_JS } from './helpers/agent-process.js';
import { HungDocker } from './helpers/hung-docker.js';

test('an engine older than the Docker API ecsd needs (1.25) is a terminal start failure naming both versions', async (t) => {
  const docker = await HungDocker.start({ hang: [], apiVersion: '1.24' });
  t.teardown(() => docker.close());
  const agent = new AgentProcess({ env: { DOCKER_HOST: docker.host } });
  t.teardown(() => agent.cleanup());
  const error = await t.throwsAsync(agent.start());
  t.regex(error.message, /agent exited with 5/);
  t.regex(agent.logs(), /1\.24/);
  t.regex(agent.logs(), /1\.25/);
});

test('ecsd runs straight from its shebang, which carries its node flags, and the harness uses them', async (t) => {
  t.deepEqual(agentNodeFlags(), ['--no-memory-reducer', '--min-semi-space-size=8', '--max-opt=1']);
  const { stdout } = await promisify(execFile)(MAIN_JS, ['-version']);
  t.regex(stdout, /Amazon ECS Agent \(ecsd\)/);
});
