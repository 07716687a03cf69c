// Issue 9, "Cancellation reaches the engine": a shutdown while Docker hangs inside a create ends within the
// shutdown deadline (exit 0), not after Docker's own 4-minute create timeout — and the hung request is torn
// down on the socket, not left open. Runs the real agent against a Docker stand-in that never answers create.
import test from 'ava';
import { AgentProcess } from './helpers/agent-process.js';
import { HungDocker } from './helpers/hung-docker.js';
import { waitFor } from './helpers/wait-for.js';

test('SIGTERM while Docker hangs in a create exits 0 within the shutdown deadline and drops the hung request', async (t) => {
  const docker = await HungDocker.start({ hang: ['create'] });
  t.teardown(() => docker.close());
  const agent = new AgentProcess({ env: { DOCKER_HOST: docker.host } });
  t.teardown(() => agent.cleanup());
  agent.writeTaskDefinition('stuck.json', {
    family: 'stuck',
    containerDefinitions: [{ name: 'main', image: 'ecsd-test/busybox:latest', command: ['sleep', '600'], memory: 32 }],
  });
  await agent.start();
  await waitFor('the create to reach Docker and hang', () => docker.hungCount() > 0, { timeoutMs: 30_000 });

  // The agent's create timeout is 4 minutes (ECS_CONTAINER_CREATE_TIMEOUT); its shutdown deadline is 5 s.
  const exited = agent.signal('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000).unref()),
  ]);
  t.is(code, 0, `agent output:\n${agent.logs().slice(-3000)}`);
  await waitFor('the hung create to be torn down on the socket', () => docker.abandoned > 0, { timeoutMs: 5_000 });
});
