// A lost or corrupt store (issue 10 §5), on the shared engine: the containers Docker still runs are the
// truth. After the store is gone, a task at revision 2 must not run twice (local revisions restarting at 1
// gave a new ARN and a second container, and the old one ran on untracked), and a container carrying this
// agent's labels that belongs to no desired task is stopped as an orphan, never left running untracked.
import { rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DATABASE_FILE_NAME } from '../../src/store/open-database.js';
import { AgentProcess, TEST_IMAGE } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/wait-for.js';

const CONVERGE_TIMEOUT_MS = 60_000;

function sleeperTask(family: string, command: string[]): Record<string, unknown> {
  return {
    family,
    memory: '128',
    containerDefinitions: [
      {
        name: 'main',
        image: TEST_IMAGE,
        essential: true,
        command,
        // tini: a clean, quick stop when the task is replaced or removed.
        linuxParameters: { initProcessEnabled: true },
        dockerLabels: { 'ecsd.test': 'lost-store' },
      },
    ],
  };
}

async function startedAgent(t: ExecutionContext): Promise<AgentProcess> {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  return agent;
}

/** The store lost the way the issue found it: main file truncated to nothing, WAL (and its index) deleted. */
function corruptStore(agent: AgentProcess): void {
  const path = join(agent.dataDir, DATABASE_FILE_NAME);
  truncateSync(path, 0);
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
}

test('after the store is lost, a task at revision 2 is tracked again, never run twice, and its file removal stops it', async (t) => {
  t.timeout(240_000);
  const agent = await startedAgent(t);
  agent.writeTaskDefinition('keeper.json', sleeperTask('keeper', ['sleep', '3600']));
  const first = await agent.waitForTask('keeper', (task) => task.KnownStatus === 'RUNNING', CONVERGE_TIMEOUT_MS);
  // Changing the file once replaces the task: a new revision (derived from the content, so it survives a lost
  // store), a new ARN, the first revision's container stopped.
  agent.writeTaskDefinition('keeper.json', sleeperTask('keeper', ['sleep', '3601']));
  const second = await agent.waitForTask(
    'keeper',
    (task) => task.Arn !== first.Arn && task.KnownStatus === 'RUNNING',
    CONVERGE_TIMEOUT_MS,
  );
  t.not(second.Version, first.Version, 'the changed file is a new revision');
  await waitFor(
    'revision 1 stopped',
    async () => (await agent.dockerContainerIds({ running: true, family: 'keeper' })).length === 1,
    {
      timeoutMs: CONVERGE_TIMEOUT_MS,
    },
  );
  const keptId = second.Containers[0]!.DockerId;

  t.is(await agent.signal('SIGTERM'), 0, 'a clean agent stop leaves the task container running');
  corruptStore(agent);
  const offset = agent.logs().length;
  await agent.start();

  // Give the agent time to act on the file (a duplicate would be created within this window).
  const tracked = await waitFor(
    'the task tracked again',
    () => {
      const task = agent.taskByFamily('keeper');
      return task?.KnownStatus === 'RUNNING' ? task : undefined;
    },
    { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 200 },
  ).catch((error: unknown) => {
    t.log(String(error));
    return agent.taskByFamily('keeper');
  });
  const running = await agent.dockerContainerIds({ running: true, family: 'keeper' });

  agent.removeTaskDefinition('keeper.json');
  await waitFor(
    'no container of the task running',
    async () => (await agent.dockerContainerIds({ running: true, family: 'keeper' })).length === 0,
    { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 200 },
  ).catch((error: unknown) => t.log(String(error)));
  const leftRunning = await agent.dockerContainerIds({ running: true, family: 'keeper' });
  const oldStatus = await agent.docker('inspect', '--format', '{{.State.Status}}', keptId);
  const restartWarnings = agent
    .logs()
    .slice(offset)
    .split('\n')
    .filter((line) => line.startsWith('{"level":"warn"') && /database|store/i.test(line));

  // A failed assertion ends an ava test, so the whole outcome is logged first.
  t.log(`after the restart: task ${tracked?.Arn} v${tracked?.Version} ${tracked?.KnownStatus}; running ${running}`);
  t.log(running.includes(keptId) ? 'the old container still runs after the restart' : 'the old container was stopped');
  t.log(
    `after removing the file: running ${leftRunning.length > 0 ? leftRunning : 'none'}; old container ${oldStatus}`,
  );
  t.log(`store warnings after the restart: ${restartWarnings.length > 0 ? restartWarnings.join('\n') : 'none'}`);

  t.is(tracked?.KnownStatus, 'RUNNING', '`ecsd tasks` shows the task RUNNING');
  t.is(running.length, 1, 'exactly one running container for the task: no second one');
  t.deepEqual(
    tracked?.Containers.map((c) => c.DockerId),
    running,
    'the task the store tracks owns the container that runs',
  );
  t.true(restartWarnings.length > 0, 'the reset of the lost store is logged at warn with a reason');
  t.deepEqual(leftRunning, [], 'removing the file stops the task');
  t.not(oldStatus, 'running', 'the old container (revision 2, from before the store was lost) no longer runs');
});

test('a container with this agent’s labels that belongs to no desired task is stopped after start', async (t) => {
  t.timeout(180_000);
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  // A leftover of an earlier life of this agent: its cluster, a task ARN no store or file knows.
  const orphanArn = `arn:aws:ecs:local:000000000000:task/${agent.cluster}/0123456789abcdef0123456789abcdef`;
  const orphanId = await agent.docker(
    'run',
    '-d',
    '--init',
    '--label',
    `com.amazonaws.ecs.cluster=${agent.cluster}`,
    '--label',
    `com.amazonaws.ecs.task-arn=${orphanArn}`,
    '--label',
    'com.amazonaws.ecs.container-name=main',
    '--label',
    'com.amazonaws.ecs.task-definition-family=orphan',
    '--label',
    'com.amazonaws.ecs.task-definition-version=1',
    '--label',
    'ecsd.test=lost-store',
    TEST_IMAGE,
    'sleep',
    '3600',
  );
  await agent.start();
  // A task of its own, so "converged" has a marker: once it runs, the agent has looked at its containers.
  agent.writeTaskDefinition('live.json', sleeperTask('live', ['sleep', '3600']));
  await agent.waitForTask('live', (task) => task.KnownStatus === 'RUNNING', CONVERGE_TIMEOUT_MS);
  const status = await waitFor(
    'the orphan stopped',
    async () => {
      const status = await agent.docker('inspect', '--format', '{{.State.Status}}', orphanId);
      return status === 'running' ? undefined : status;
    },
    { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 200 },
  ).catch(async (error: unknown) => {
    t.log(String(error));
    return agent.docker('inspect', '--format', '{{.State.Status}}', orphanId);
  });
  t.not(status, 'running', 'the orphan is not left running untracked');
  t.is(agent.taskByFamily('live')?.KnownStatus, 'RUNNING', 'the desired task is untouched');
});
