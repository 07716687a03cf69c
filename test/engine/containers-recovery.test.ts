// What happens around the agent: a SIGKILL mid-start and a restart, containers removed behind its back,
// and bad task input — each ends in a clear state and the agent keeps running.
import test from 'ava';
import { AgentProcess, docker, TEST_IMAGE } from '../helpers/agent-process.js';

function sleeper(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, image: TEST_IMAGE, essential: true, command: ['sleep', '3600'], ...extra };
}

test('an agent killed with SIGKILL mid-start converges after restart without duplicate containers', async (t) => {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  agent.writeTaskDefinition('trio.json', {
    family: 'trio',
    memory: '256',
    containerDefinitions: [
      sleeper('a'),
      sleeper('b', { dependsOn: [{ containerName: 'a', condition: 'START' }] }),
      sleeper('c', { dependsOn: [{ containerName: 'b', condition: 'START' }] }),
    ],
  });
  await agent.waitFor(() => agent.tasks().some((task) => task.Family === 'trio'), 30_000, 'task stored');
  // Kill as soon as Docker has the first container: the rest of the start has not happened yet.
  const deadline = Date.now() + 30_000;
  while ((await agent.dockerContainerIds()).length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.is(await agent.signal('SIGKILL'), null, 'killed by signal');
  await agent.start();
  const task = await agent.waitForTask('trio', (task) => task.KnownStatus === 'RUNNING');
  t.deepEqual(
    task.Containers.map((c) => c.KnownStatus),
    ['RUNNING', 'RUNNING', 'RUNNING'],
  );
  const ids = await agent.dockerContainerIds();
  t.is(ids.length, 3, 'exactly one Docker container per task container');
  t.deepEqual([...ids].sort(), task.Containers.map((c) => c.DockerId).sort());
});

test('SIGTERM shuts the agent down cleanly and leaves task containers running', async (t) => {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  agent.writeTaskDefinition('keep.json', { family: 'keep', memory: '256', containerDefinitions: [sleeper('main')] });
  const task = await agent.waitForTask('keep', (task) => task.KnownStatus === 'RUNNING');
  t.is(await agent.signal('SIGTERM'), 0);
  t.is(await docker('inspect', '--format', '{{.State.Status}}', task.Containers[0]!.DockerId), 'running');
  await agent.start();
  const again = await agent.waitForTask('keep', (task) => task.KnownStatus === 'RUNNING');
  t.is(again.Containers[0]?.DockerId, task.Containers[0]?.DockerId, 'adopted, not recreated');
  t.is((await agent.dockerContainerIds()).length, 1);
});

test('a container removed behind the agent is reported STOPPED and the task stops', async (t) => {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  agent.writeTaskDefinition('victim.json', {
    family: 'victim',
    memory: '256',
    containerDefinitions: [sleeper('main')],
  });
  const task = await agent.waitForTask('victim', (task) => task.KnownStatus === 'RUNNING');
  await docker('rm', '-f', task.Containers[0]!.DockerId);
  const stopped = await agent.waitForTask('victim', (task) => task.KnownStatus === 'STOPPED');
  const container = stopped.Containers[0]!;
  t.is(container.KnownStatus, 'STOPPED');
  // Depending on whether the agent inspected the dead container before it was removed, Docker's exit code
  // is known (137) or the container is reported vanished; either way the outcome is explicit.
  t.true(
    container.ExitCode === 137 || /^ContainerVanishedError: /.test(container.Reason ?? ''),
    JSON.stringify(container),
  );
});

test('bad task input gets a clear reason and the agent keeps running the rest', async (t) => {
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  agent.writeTaskDefinition('good.json', { family: 'good', memory: '256', containerDefinitions: [sleeper('main')] });
  agent.writeTaskDefinition('typo.json', {
    family: 'typo',
    memory: '256',
    containerDefinitions: [{ name: 'main', image: TEST_IMAGE, comand: ['sleep', '1'] }],
  });
  agent.writeTaskDefinition('unknown-dep.json', {
    family: 'unknowndep',
    memory: '256',
    containerDefinitions: [sleeper('main', { dependsOn: [{ containerName: 'ghost', condition: 'START' }] })],
  });
  agent.writeTaskDefinition('cycle.json', {
    family: 'cycle',
    memory: '256',
    containerDefinitions: [
      sleeper('a', { dependsOn: [{ containerName: 'b', condition: 'START' }] }),
      sleeper('b', { dependsOn: [{ containerName: 'a', condition: 'START' }] }),
    ],
  });
  agent.writeTaskDefinition('noimage.json', {
    family: 'noimage',
    memory: '256',
    containerDefinitions: [{ name: 'main', image: 'ecsd-test/does-not-exist:1', command: ['true'] }],
  });

  await agent.waitForTask('good', (task) => task.KnownStatus === 'RUNNING');
  const cycle = await agent.waitForTask('cycle', (task) => task.KnownStatus === 'STOPPED');
  t.is(cycle.DesiredStatus, 'STOPPED');
  t.regex(cycle.Reason ?? '', /^Task dependencies cannot be resolved, taskArn: arn:aws:ecs:/);
  const noimage = await agent.waitForTask('noimage', (task) => task.KnownStatus === 'STOPPED');
  t.regex(noimage.Containers[0]?.Reason ?? '', /^CannotPullContainerError: .*ecsd-test\/does-not-exist:1/);

  await agent.waitFor(() => /typo\.json/.test(agent.logs()) && /comand/.test(agent.logs()), 10_000, 'typo error');
  await agent.waitFor(() => /unknown-dep\.json/.test(agent.logs()) && /ghost/.test(agent.logs()), 10_000, 'dep error');
  t.is(agent.taskByFamily('typo'), undefined, 'an invalid file starts nothing');
  t.is(agent.taskByFamily('good')?.KnownStatus, 'RUNNING', 'the valid task kept running');
  t.is(await agent.signal('SIGTERM'), 0, 'the agent was still alive and shut down cleanly');
});
