// Host resource admission on the real engine (issue 13, fact sheet 4.8): a task whose static host port or
// memory is held by a task not yet STOPPED waits, visibly, and starts once the holder is STOPPED; the line
// and the ledger survive an agent restart.
import { createServer } from 'node:net';
import test from 'ava';
import { AgentProcess, docker, TEST_IMAGE } from '../helpers/agent-process.js';

/** A port free on loopback now; the agent's tasks bind it on the host. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function portTask(family: string, port: number, stopTimeout: number): Record<string, unknown> {
  return {
    family,
    memory: '64',
    containerDefinitions: [
      {
        name: 'web',
        image: TEST_IMAGE,
        essential: true,
        // busybox sleep as PID 1 ignores SIGTERM: the stop waits out the whole stopTimeout.
        command: ['sleep', '3600'],
        stopTimeout,
        portMappings: [{ containerPort: 8080, hostPort: port, protocol: 'tcp' }],
      },
    ],
  };
}

test('a task wanting a host port held by a stopping task waits, then starts once the holder is STOPPED', async (t) => {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  const port = await freePort();
  agent.writeTaskDefinition('first.json', portTask('first', port, 30));
  const first = await agent.waitForTask('first', (task) => task.KnownStatus === 'RUNNING');

  agent.removeTaskDefinition('first.json');
  agent.writeTaskDefinition('second.json', portTask('second', port, 1));
  const waiting = await agent.waitForTask('second', (task) => task.WaitingFor !== undefined);
  t.is(waiting.WaitingFor, `host port ${port}/tcp held by task ${first.Arn}`);
  t.is(waiting.KnownStatus, 'PENDING');
  t.is(waiting.Containers[0]?.DockerId, '', 'nothing created in Docker while waiting');

  const second = await agent.waitForTask('second', (task) => task.KnownStatus === 'RUNNING', 90_000);
  t.is(second.WaitingFor, undefined);
  t.is(agent.taskByFamily('first')?.KnownStatus, 'STOPPED');
  t.is(await docker('inspect', '--format', '{{.State.Status}}', second.Containers[0]!.DockerId), 'running');
  const firstFinished = Date.parse(
    await docker('inspect', '--format', '{{.State.FinishedAt}}', first.Containers[0]!.DockerId),
  );
  const secondStarted = Date.parse(second.Containers[0]?.StartedAt ?? '');
  t.log(`second started ${secondStarted - firstFinished} ms after the first's container exited`);
  t.true(agent.logs().includes('task waits for host resources'), 'the wait is logged');
});

test('memory oversubscription: the second task waits for memory, then runs when the first stops', async (t) => {
  // Capacity = the engine's MemTotal less ECS_RESERVED_MEMORY: reserve all but 300 MiB, whatever the host has.
  const totalMiB = Math.floor(Number(await docker('info', '--format', '{{.MemTotal}}')) / (1024 * 1024));
  const agent = new AgentProcess({ env: { ECS_RESERVED_MEMORY: String(totalMiB - 300) } });
  t.teardown(() => agent.cleanup());
  await agent.start();
  const task = (family: string) => ({
    family,
    memory: '200',
    containerDefinitions: [
      { name: 'main', image: TEST_IMAGE, essential: true, command: ['sleep', '3600'], stopTimeout: 1 },
    ],
  });
  agent.writeTaskDefinition('a.json', task('a'));
  await agent.waitForTask('a', (t) => t.KnownStatus === 'RUNNING');
  agent.writeTaskDefinition('b.json', task('b'));
  const waiting = await agent.waitForTask('b', (t) => t.WaitingFor !== undefined);
  t.is(waiting.WaitingFor, 'memory: needs 200 MiB, 100 MiB free');
  agent.removeTaskDefinition('a.json');
  await agent.waitForTask('b', (t) => t.KnownStatus === 'RUNNING', 60_000);
  t.is(agent.taskByFamily('a')?.KnownStatus, 'STOPPED');
});

test('an agent restart while tasks wait keeps the ledger and the waiting order', async (t) => {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  const port = await freePort();
  agent.writeTaskDefinition('holder.json', portTask('holder', port, 1));
  const holder = await agent.waitForTask('holder', (task) => task.KnownStatus === 'RUNNING');
  agent.writeTaskDefinition('early.json', portTask('early', port, 1));
  const early = await agent.waitForTask('early', (task) => task.WaitingFor !== undefined);
  agent.writeTaskDefinition('late.json', portTask('late', port, 1));
  const late = await agent.waitForTask('late', (task) => task.WaitingFor !== undefined);
  t.is(
    late.WaitingFor,
    `queued behind task ${early.Arn}, which waits for host port ${port}/tcp held by task ${holder.Arn}`,
  );

  t.is(await agent.signal('SIGTERM'), 0);
  await agent.start();
  // Restored from the store: the holder (adopted, still running) holds the port, the line is unchanged.
  await agent.waitFor(() => agent.outputSince().includes('loop started'), 30_000, 'loops started');
  t.is(agent.taskByFamily('early')?.WaitingFor, `host port ${port}/tcp held by task ${holder.Arn}`);
  t.is(agent.taskByFamily('late')?.WaitingFor, late.WaitingFor);
  t.is(agent.taskByFamily('holder')?.KnownStatus, 'RUNNING');

  agent.removeTaskDefinition('holder.json');
  await agent.waitForTask('early', (task) => task.KnownStatus === 'RUNNING', 60_000);
  // The later one now waits for the port the earlier one took, not for its place in line.
  const still = await agent.waitForTask('late', (task) => task.WaitingFor?.startsWith('host port') === true);
  t.is(still.WaitingFor, `host port ${port}/tcp held by task ${early.Arn}`);
  t.is(still.KnownStatus, 'PENDING');
});
