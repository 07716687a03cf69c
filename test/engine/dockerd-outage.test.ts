// A dockerd outage (issue 10 §4), on a private engine so the shared one is never stopped: tasks that
// outlived the outage stay RUNNING, a container that died while the engine was down is reported STOPPED with
// its exit code as soon as the engine is back (not at the next periodic relist, minutes later), and a task
// file added during the outage waits and then runs instead of being failed for good.
//
// The realistic scenario is a daemon restart with `--live-restore` (docker's setting for restarting or
// upgrading the daemon without touching workloads; recommended for hosts running an agent): containers keep
// running while dockerd is down, and one of them is killed by PID from the host during the outage — the
// death the event stream cannot carry. The second test covers the other configuration, where every
// container dies with the daemon.
import { existsSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import type { TaskResponse } from '../../src/http/task-response.js';
import { AgentProcess, TEST_IMAGE } from '../helpers/agent-process.js';
import { PrivateDockerd, processAlive } from '../helpers/private-dockerd.js';
import { waitFor } from '../helpers/wait-for.js';

/** Generous: a busy 2-core machine; the regression this guards against took 4.5 minutes (a periodic relist). */
const CONVERGE_TIMEOUT_MS = 60_000;
const TEST_LABEL = 'ecsd.test=dockerd-outage';

function sleeperTask(family: string): Record<string, unknown> {
  return {
    family,
    memory: '128',
    // The private engine runs without iptables or NAT (it must not touch the shared engine's docker0 or rules).
    networkMode: 'none',
    containerDefinitions: [
      {
        name: 'main',
        image: TEST_IMAGE,
        essential: true,
        command: ['sleep', '3600'],
        // tini as PID 1: a clean stop on SIGTERM, so a daemon stop without live-restore ends in 143.
        linuxParameters: { initProcessEnabled: true },
        dockerLabels: { 'ecsd.test': 'dockerd-outage' },
      },
    ],
  };
}

async function privateEngine(t: ExecutionContext, liveRestore: boolean): Promise<PrivateDockerd> {
  const engine = await PrivateDockerd.create({ liveRestore });
  t.teardown(() => engine.destroy());
  return engine;
}

async function agentOn(t: ExecutionContext, engine: PrivateDockerd): Promise<AgentProcess> {
  const agent = new AgentProcess({ dockerHost: engine.host });
  // Registered after the engine's teardown, so it runs first (ava runs teardowns last-in first-out).
  t.teardown(() => agent.cleanup());
  await agent.start();
  return agent;
}

function describeTasks(agent: AgentProcess): string {
  return agent
    .tasks()
    .map(
      (task) =>
        `${task.Family} ${task.KnownStatus}/${task.DesiredStatus ?? '-'} ${task.Reason ?? ''} ` +
        task.Containers.map((c) => `[${c.Name} ${c.KnownStatus} exit=${c.ExitCode ?? '-'} ${c.Reason ?? ''}]`).join(
          ' ',
        ),
    )
    .join('\n');
}

test.serial('harness: a private engine starts, stops, starts again and runs an agent task', async (t) => {
  t.timeout(180_000);
  const engine = await privateEngine(t, true);
  const startMs = await engine.start(); // already running: a no-op
  t.is(startMs, 0);
  t.true(engine.isRunning());
  t.not(engine.host, 'unix:///var/run/docker.sock');
  // Its own managed containerd under its exec root, not the shared engine's.
  t.true((await engine.docker('info', '--format', '{{.DockerRootDir}}')) === engine.dataRoot);

  const id = await engine.docker(
    'run',
    '-d',
    '--network',
    'none',
    '--init',
    '--label',
    TEST_LABEL,
    TEST_IMAGE,
    'sleep',
    '3600',
  );
  const pid = await engine.containerPid(id);
  await engine.stop();
  t.false(engine.isRunning());
  t.true(processAlive(pid), 'live-restore: the container outlives the daemon');
  const restartMs = await engine.start();
  t.log(`private dockerd restart took ${restartMs} ms`);
  t.is(await engine.docker('inspect', '--format', '{{.State.Status}}', id), 'running');
  // A second cycle on the same directories and socket (stale pid files cleared).
  await engine.stop();
  await engine.start();
  t.is(await engine.docker('inspect', '--format', '{{.State.Status}}', id), 'running');

  const agent = await agentOn(t, engine);
  agent.writeTaskDefinition('trivial.json', sleeperTask('trivial'));
  const task = await agent.waitForTask('trivial', (task) => task.KnownStatus === 'RUNNING', CONVERGE_TIMEOUT_MS);
  const dockerId = task.Containers[0]!.DockerId;
  t.is(await engine.docker('inspect', '--format', '{{.State.Status}}', dockerId), 'running');
  t.deepEqual(await agent.dockerContainerIds(), [dockerId], 'the agent created it on the private engine');

  await agent.cleanup();
  const dir = engine.dir;
  await engine.destroy();
  t.false(processAlive(pid), 'destroy leaves no container process behind');
  t.false(existsSync(dir), 'destroy removes the engine directory (and unmounts what was under it)');
});

test.serial(
  'a dockerd outage: survivors stay RUNNING, a container killed meanwhile is STOPPED with its exit code, a task added meanwhile runs',
  async (t) => {
    t.timeout(300_000);
    const engine = await privateEngine(t, true);
    const agent = await agentOn(t, engine);
    const families = Array.from({ length: 10 }, (_, i) => `outage-${String(i).padStart(2, '0')}`);
    for (const family of families) agent.writeTaskDefinition(`${family}.json`, sleeperTask(family));
    await agent.waitFor(
      () => families.every((family) => agent.taskByFamily(family)?.KnownStatus === 'RUNNING'),
      120_000,
      'ten tasks RUNNING',
    );
    const before = new Map(families.map((family) => [family, agent.taskByFamily(family)!]));
    const victim = families[3]!;
    const victimDockerId = before.get(victim)!.Containers[0]!.DockerId;
    const victimPid = await engine.containerPid(victimDockerId);
    t.true(victimPid > 0);

    await engine.stop();
    // The outage. A task file arrives while Docker is down: it is stored and must wait for the engine.
    agent.writeTaskDefinition('outage-late.json', sleeperTask('outage-late'));
    await agent.waitFor(() => agent.taskByFamily('outage-late') !== undefined, 30_000, 'late task stored');
    // One container dies while the event stream is down: its init process, SIGKILLed from the host.
    process.kill(victimPid, 'SIGKILL');
    await waitFor('victim process gone', () => !processAlive(victimPid), { timeoutMs: 10_000 });
    const lateDuringOutage = agent.taskByFamily('outage-late')!;
    t.log(`late task during the outage: ${lateDuringOutage.KnownStatus} ${lateDuringOutage.Reason ?? ''}`);
    const engineBackOffset = agent.outputSince().length;
    const restartMs = await engine.start();
    t.log(`private dockerd restart took ${restartMs} ms`);

    const converged = (): boolean => {
      const victimTask = agent.taskByFamily(victim);
      const late = agent.taskByFamily('outage-late');
      return (
        families.every((family) => family === victim || agent.taskByFamily(family)?.KnownStatus === 'RUNNING') &&
        victimTask?.Containers[0]?.KnownStatus === 'STOPPED' &&
        late?.KnownStatus === 'RUNNING'
      );
    };
    // Assert piecemeal below, so a failure names the part that did not converge.
    await waitFor('every task converged after the engine came back', converged, {
      timeoutMs: CONVERGE_TIMEOUT_MS,
      intervalMs: 200,
    }).catch((error: unknown) => {
      t.log(String(error));
      t.log(describeTasks(agent));
      t.log(
        `--- agent output after the engine came back (tail) ---\n${agent.outputSince(engineBackOffset).slice(-4000)}`,
      );
    });

    const victimInDocker = await engine.docker(
      'inspect',
      '--format',
      '{{.State.Status}} {{.State.ExitCode}}',
      victimDockerId,
    );
    t.log(`Docker's view of the killed container: ${victimInDocker}`);
    for (const family of families.filter((f) => f !== victim)) {
      const task = agent.taskByFamily(family);
      t.is(task?.KnownStatus, 'RUNNING', `${family} survived the outage and is RUNNING`);
      t.is(task?.Arn, before.get(family)!.Arn, `${family}: the same task`);
      t.is(task?.Containers[0]?.DockerId, before.get(family)!.Containers[0]!.DockerId, `${family}: the same container`);
    }
    const victimTask = agent.taskByFamily(victim) as TaskResponse;
    t.is(victimTask.Containers[0]?.KnownStatus, 'STOPPED', 'the container killed during the outage is STOPPED');
    t.is(victimTask.Containers[0]?.ExitCode, 137, 'with the exit code Docker recorded (SIGKILL)');
    t.is(victimInDocker, 'exited 137', 'Docker recorded the SIGKILL');
    const late = agent.taskByFamily('outage-late') as TaskResponse;
    t.not(late.DesiredStatus, 'STOPPED', `the task added during the outage was not failed: ${late.Reason ?? ''}`);
    t.is(late.KnownStatus, 'RUNNING', 'the task added during the outage runs once the engine is back');
    const lateDockerId = late.Containers[0]?.DockerId ?? '';
    t.not(lateDockerId, '', 'the late task has a container');
    if (lateDockerId !== '') {
      t.is(await engine.docker('inspect', '--format', '{{.State.Status}}', lateDockerId), 'running');
    }
    t.is(
      (await agent.dockerContainerIds({ running: true })).length,
      families.length,
      'nine survivors and the late task: one running container each, no duplicates',
    );
  },
);

test.serial(
  'without live-restore every container dies with the engine and is reported STOPPED when it is back',
  async (t) => {
    t.timeout(240_000);
    const engine = await privateEngine(t, false);
    const agent = await agentOn(t, engine);
    const families = ['mortal-a', 'mortal-b', 'mortal-c'];
    for (const family of families) agent.writeTaskDefinition(`${family}.json`, sleeperTask(family));
    await agent.waitFor(
      () => families.every((family) => agent.taskByFamily(family)?.KnownStatus === 'RUNNING'),
      120_000,
      'three tasks RUNNING',
    );
    const ids = families.map((family) => agent.taskByFamily(family)!.Containers[0]!.DockerId);
    // The daemon stops its containers on the way down (SIGTERM; tini makes it a clean 143).
    await engine.stop();
    await engine.start();
    const exitCodes = await Promise.all(
      ids.map((id) => engine.docker('inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id)),
    );
    t.log(`Docker after the restart: ${exitCodes.join(', ')}`);

    await waitFor(
      'every task STOPPED after the engine came back',
      () => families.every((family) => agent.taskByFamily(family)?.KnownStatus === 'STOPPED'),
      { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 200 },
    ).catch((error: unknown) => {
      t.log(String(error));
      t.log(describeTasks(agent));
    });
    for (const [i, family] of families.entries()) {
      const task = agent.taskByFamily(family);
      t.is(task?.KnownStatus, 'STOPPED', `${family} is STOPPED`);
      t.is(task?.Containers[0]?.KnownStatus, 'STOPPED', `${family}'s container is STOPPED`);
      t.is(
        String(task?.Containers[0]?.ExitCode),
        exitCodes[i]?.split(' ')[1] ?? '',
        `${family}: the exit code Docker recorded`,
      );
    }
    t.is((await agent.dockerContainerIds({ running: true })).length, 0, 'nothing was restarted behind ECS');
  },
);
