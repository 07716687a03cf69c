// ECS mode end to end (issue 11): a real `ecsd` without a task directory registers with the loopback
// simulator, holds its ACS WebSocket, runs what PayloadMessages ask for on the real engine and reports every
// task change through SubmitTaskStateChange — across a SIGKILL, twenty dropped sockets, bad input and an outage.
//
// Serial on purpose: each test runs an agent, a simulator and up to twenty containers on the shared engine of
// a two-core machine; side by side they would make every wait here a load test of the machine.
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import type { ContainerDefinition } from '../../src/sources/local/task-definition-types.js';
import { type AgentProcess, TEST_IMAGE } from '../helpers/agent-process.js';
import { createEcsPair, type EcsPair, scrapeValue } from '../helpers/ecs-agent.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  type AcsContainer,
  type AcsTask,
  buildAcsTask,
  type EcsSimulator,
  type TaskDefinitionLike,
  type TaskStateChange,
} from '../support/ecs-sim/index.js';

/** Generous: the machine is shared, and a wait that times out here says what it saw. */
const WAIT_MS = 120_000;
const LABEL_TASK_ARN = 'com.amazonaws.ecs.task-arn';
const LABEL_CONTAINER_NAME = 'com.amazonaws.ecs.container-name';

/** tini as PID 1 forwards SIGTERM to `sleep`, so a stop ends at once with 143 (busybox sleep alone ignores it). */
function initSleeper(name: string, extra: Partial<ContainerDefinition> = {}): ContainerDefinition {
  return {
    name,
    image: TEST_IMAGE,
    essential: true,
    memory: 32,
    command: ['sleep', '3600'],
    linuxParameters: { initProcessEnabled: true },
    ...extra,
  };
}

/** A shell that traps SIGTERM and exits 0: a clean stop with a different, equally deterministic code. */
function trapSleeper(name: string): ContainerDefinition {
  return {
    name,
    image: TEST_IMAGE,
    essential: true,
    memory: 32,
    command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
  };
}

/** An ACS task of the pair's cluster with a fresh ARN (the simulator's builder defaults to cluster `default`). */
function acsTask(pair: EcsPair, definition: TaskDefinitionLike): AcsTask {
  const { region, accountId } = pair.sim.settings;
  const arn = `arn:aws:ecs:${region}:${accountId}:task/${pair.agent.cluster}/${randomBytes(16).toString('hex')}`;
  return buildAcsTask({ memory: '128', ...definition }, { arn });
}

const stopping = (task: AcsTask): AcsTask => ({ ...task, desiredStatus: 'STOPPED' });

/** The task statuses `sim` received for `arn`, in arrival order. */
function reportedStatuses(sim: EcsSimulator, arn: string): Array<string | undefined> {
  return sim.taskStateChanges(arn).map((change) => change.status);
}

function containerOf(change: TaskStateChange, name: string): Record<string, unknown> | undefined {
  return change.containers?.find((c) => c['containerName'] === name);
}

/**
 * Waits until the agent's outbox is empty, i.e. every change it recorded was accepted by the backend, so an
 * "exactly once" check after it cannot miss a late duplicate still queued in the agent.
 */
async function drained(agent: AgentProcess): Promise<void> {
  await agent.waitFor(() => agent.outboxDepth() === 0, WAIT_MS, 'the outbox drained');
}

/** `taskArn/containerName` → Docker ID, from the labels of the cluster's containers. */
async function dockerIdsByContainer(agent: AgentProcess): Promise<Map<string, string>> {
  const ids = await agent.dockerContainerIds();
  if (ids.length === 0) return new Map();
  const lines = await agent.docker(
    'inspect',
    '--format',
    `{{.Id}} {{index .Config.Labels "${LABEL_TASK_ARN}"}} {{index .Config.Labels "${LABEL_CONTAINER_NAME}"}}`,
    ...ids,
  );
  return new Map(
    lines
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, arn, name] = line.split(' ');
        return [`${arn}/${name}`, id!];
      }),
  );
}

/** The IPv4 host port Docker bound for `containerPort/tcp` of container `id`. */
async function hostPortOf(agent: AgentProcess, id: string, containerPort: number): Promise<number> {
  const lines = (await agent.docker('port', id, `${containerPort}/tcp`)).split('\n');
  const ipv4 = lines.find((line) => line.startsWith('0.0.0.0:'));
  if (ipv4 === undefined) throw new Error(`container ${id} has no IPv4 binding for ${containerPort}/tcp: ${lines}`);
  return Number(ipv4.slice('0.0.0.0:'.length));
}

async function startedPair(t: ExecutionContext, timeoutMs: number): Promise<EcsPair> {
  t.timeout(timeoutMs);
  // Acks may take a while on a loaded machine, and across dropped sockets (the simulator redelivers).
  const pair = await createEcsPair({ sim: { ackTimeoutMs: WAIT_MS } });
  t.teardown(async () => {
    // A failed exactly-once check is read against what the backend received and what the agent planned.
    if (!t.passed) {
      t.log(JSON.stringify(pair.sim.taskStateChanges(), null, 1));
      t.log(
        pair.agent
          .logs()
          .split('\n')
          .filter((line) => /"msg":"planned".*report /.test(line))
          .join('\n'),
      );
    }
    await pair.close();
  });
  await pair.agent.start();
  await pair.sim.waitForConnection(1, WAIT_MS);
  return pair;
}

test.serial(
  'register, connect, two tasks RUNNING then STOPPED, each reported with the fields upstream sends',
  async (t) => {
    const pair = await startedPair(t, 300_000);
    const { sim, agent } = pair;

    // Registration, then the ACS connect with fact sheet 2.1's query.
    const [instance] = sim.instances();
    t.is(sim.instances().length, 1);
    const registerCall = sim.calls('RegisterContainerInstance').find((c) => c.statusCode === 200);
    const connection = sim.connections()[0]!;
    t.truthy(registerCall);
    t.true(registerCall!.atMs <= connection.openedAtMs, 'registered before connecting');
    t.is(instance?.cluster, agent.cluster);
    const keys = connection.rawQuery.split('&').map((part) => decodeURIComponent(part.split('=')[0]!));
    t.deepEqual(keys, [
      'agentHash',
      'agentVersion',
      'clusterArn',
      'containerInstanceArn',
      'dockerVersion',
      'protocolVersion',
      'sendCredentials',
      'seqNum',
    ]);
    t.like(connection.query, {
      clusterArn: agent.cluster,
      containerInstanceArn: instance?.arn,
      protocolVersion: '2',
      sendCredentials: 'true',
      seqNum: '1',
    });
    t.regex(connection.query['dockerVersion'] ?? '', /^DockerVersion: \S/);
    t.truthy(connection.query['agentVersion']);
    t.truthy(connection.query['agentHash']);

    // A payload of two tasks: one with a dynamic host port, one with two containers that stop differently.
    const web = acsTask(pair, {
      family: 'web',
      containerDefinitions: [
        initSleeper('web', { portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }] }),
      ],
    });
    const duo = acsTask(pair, { family: 'duo', containerDefinitions: [initSleeper('init'), trapSleeper('trap')] });
    await sim.sendPayload([web, duo]);
    const [webRunning, duoRunning] = await Promise.all([
      sim.waitForTaskStatus(web.arn, 'RUNNING', WAIT_MS),
      sim.waitForTaskStatus(duo.arn, 'RUNNING', WAIT_MS),
    ]);
    const ids = await dockerIdsByContainer(agent);
    t.is(ids.size, 3, 'one Docker container per task container');
    t.like(webRunning, { cluster: agent.cluster, task: web.arn, status: 'RUNNING' });
    t.like(duoRunning, { cluster: agent.cluster, task: duo.arn, status: 'RUNNING' });
    t.like(containerOf(webRunning, 'web'), { runtimeId: ids.get(`${web.arn}/web`), status: 'RUNNING' });
    t.like(containerOf(duoRunning, 'init'), { runtimeId: ids.get(`${duo.arn}/init`), status: 'RUNNING' });
    t.like(containerOf(duoRunning, 'trap'), { runtimeId: ids.get(`${duo.arn}/trap`), status: 'RUNNING' });
    const hostPort = await hostPortOf(agent, ids.get(`${web.arn}/web`)!, 8080);
    t.true(hostPort > 0);
    t.deepEqual(
      (containerOf(webRunning, 'web')?.['networkBindings'] as unknown[] | undefined)?.filter(
        (b) => (b as { bindIP?: string }).bindIP === '0.0.0.0',
      ),
      [{ bindIP: '0.0.0.0', containerPort: 8080, hostPort, protocol: 'tcp' }],
    );

    // Desired STOPPED: every container's exit code is reported, from the same containers.
    await sim.sendPayload([stopping(web), stopping(duo)]);
    const [webStopped, duoStopped] = await Promise.all([
      sim.waitForTaskStatus(web.arn, 'STOPPED', WAIT_MS),
      sim.waitForTaskStatus(duo.arn, 'STOPPED', WAIT_MS),
    ]);
    t.like(webStopped, { cluster: agent.cluster, task: web.arn, status: 'STOPPED' });
    t.like(containerOf(webStopped, 'web'), { runtimeId: ids.get(`${web.arn}/web`), status: 'STOPPED', exitCode: 143 });
    t.like(containerOf(duoStopped, 'init'), {
      runtimeId: ids.get(`${duo.arn}/init`),
      status: 'STOPPED',
      exitCode: 143,
    });
    t.like(containerOf(duoStopped, 'trap'), { runtimeId: ids.get(`${duo.arn}/trap`), status: 'STOPPED', exitCode: 0 });
    t.is(typeof webStopped.executionStoppedAt, 'number', 'executionStoppedAt: an essential container stopped');

    await drained(agent);
    t.deepEqual(reportedStatuses(sim, web.arn), ['RUNNING', 'STOPPED']);
    t.deepEqual(reportedStatuses(sim, duo.arn), ['RUNNING', 'STOPPED']);
  },
);

test.serial(
  'SIGKILLed after RUNNING was reported: re-registers with the same ARN, adopts, reports nothing twice',
  async (t) => {
    const pair = await startedPair(t, 300_000);
    const { sim, agent } = pair;
    const tasks = [
      acsTask(pair, { family: 'keep-a', containerDefinitions: [initSleeper('main')] }),
      acsTask(pair, { family: 'keep-b', containerDefinitions: [initSleeper('main'), trapSleeper('side')] }),
    ];
    await sim.sendPayload(tasks);
    await Promise.all(tasks.map((task) => sim.waitForTaskStatus(task.arn, 'RUNNING', WAIT_MS)));
    const firstArn = sim.instances()[0]!.arn;
    const idsBefore = await dockerIdsByContainer(agent);
    t.is(idsBefore.size, 3);

    const lastCall = sim.calls().length;
    t.is(await agent.signal('SIGKILL'), null, 'killed by the signal');
    const restartedAtMs = Date.now();
    await agent.start();
    const reregistration = await sim.waitForCall('RegisterContainerInstance', {
      afterSeq: lastCall,
      predicate: (call) => call.statusCode === 200,
      timeoutMs: WAIT_MS,
    });
    t.is((reregistration.body as { containerInstanceArn?: string }).containerInstanceArn, firstArn);
    t.is(sim.instances().length, 1, 'no second instance');
    const reconnect = await sim.waitUntil(
      'an ACS connection from the restarted agent',
      () => sim.connections().find((c) => c.openedAtMs >= restartedAtMs),
      WAIT_MS,
    );
    t.like(reconnect.query, { containerInstanceArn: firstArn, sendCredentials: 'true' });

    // Adopted: the store still names the same containers, and Docker has no new one.
    const stored = agent.tasks().flatMap((task) => task.Containers.map((c) => c.DockerId));
    t.deepEqual([...stored].sort(), [...idsBefore.values()].sort());
    await sim.sendPayload(tasks.map(stopping));
    const stopped = await Promise.all(tasks.map((task) => sim.waitForTaskStatus(task.arn, 'STOPPED', WAIT_MS)));
    t.deepEqual(await dockerIdsByContainer(agent), idsBefore, 'the same containers, none created after the restart');
    for (const change of stopped) {
      for (const container of change.containers ?? []) {
        t.is(container['runtimeId'], idsBefore.get(`${change.task}/${String(container['containerName'])}`));
      }
    }
    t.like(containerOf(stopped[1]!, 'side'), { status: 'STOPPED', exitCode: 0 });

    await drained(agent);
    for (const task of tasks) t.deepEqual(reportedStatuses(sim, task.arn), ['RUNNING', 'STOPPED'], task.family);
  },
);

test.serial(
  'twenty dropped sockets during a rollout of twenty tasks: all converge, each change reported once in order',
  async (t) => {
    const pair = await startedPair(t, 600_000);
    const { sim, agent } = pair;
    const DROPS = 20;
    const tasks = Array.from({ length: 20 }, (_, i) =>
      acsTask(pair, { family: `roll-${String(i).padStart(2, '0')}`, containerDefinitions: [initSleeper('main')] }),
    );
    const dropped = () => sim.connections().filter((c) => c.closedBy === 'simulator').length;
    const drops = dropSocketRepeatedly(sim, DROPS);

    // Several payloads, each sent after a few more drops so the drops fall between and inside the deliveries.
    const chunks = [tasks.slice(0, 5), tasks.slice(5, 10), tasks.slice(10, 15), tasks.slice(15)];
    for (const [index, chunk] of chunks.entries()) {
      await sim.waitUntil(`${index * 3} drops`, () => (dropped() >= index * 3 ? true : undefined), WAIT_MS);
      await sim.sendPayload(chunk, { timeoutMs: WAIT_MS });
    }
    await Promise.all(tasks.map((task) => sim.waitForTaskStatus(task.arn, 'RUNNING', WAIT_MS)));
    for (const chunk of chunks) await sim.sendPayload(chunk.map(stopping), { timeoutMs: WAIT_MS });
    await Promise.all(tasks.map((task) => sim.waitForTaskStatus(task.arn, 'STOPPED', WAIT_MS)));
    await drops;

    t.is(dropped(), DROPS);
    t.true(sim.connections().length > DROPS, 'the agent reconnected after every drop');
    t.is((await agent.dockerContainerIds()).length, tasks.length, 'one container per task despite redeliveries');
    await drained(agent);
    for (const task of tasks) t.deepEqual(reportedStatuses(sim, task.arn), ['RUNNING', 'STOPPED'], task.family);
  },
);

/**
 * Drops the agent's ACS socket `times` times: each time once it is connected again and a moment has passed,
 * so drops land at different points of the rollout. The pause only spreads the fault; nothing asserts on it.
 */
async function dropSocketRepeatedly(sim: EcsSimulator, times: number, pauseMs = 400): Promise<void> {
  let done = 0;
  while (done < times) {
    await sim.waitUntil(
      'an open ACS connection to drop',
      () => (sim.connections().some((c) => c.closedAtMs === undefined) ? true : undefined),
      WAIT_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    if (sim.faults.dropSocket()) done += 1;
  }
}

test.serial(
  'a garbage frame and an invalid task: reported UnrecogniedTaskError, not acked, the agent carries on',
  async (t) => {
    const pair = await startedPair(t, 300_000);
    const { sim, agent } = pair;
    t.true(sim.faults.garbage('{"type":"PayloadMessage","message":'), 'garbage sent on the open socket');

    const valid = acsTask(pair, { family: 'sibling', containerDefinitions: [initSleeper('main')] });
    const template = acsTask(pair, { family: 'broken', containerDefinitions: [initSleeper('main')] });
    const broken: AcsTask = {
      ...template,
      containers: template.containers.map(({ image: _image, ...rest }) => rest as unknown as AcsContainer),
    };
    const badMessageId = await sim.sendPayload([broken, valid], { awaitAck: false });
    const rejected = await sim.waitForTaskStatus(broken.arn, 'STOPPED', WAIT_MS);
    t.regex(rejected.reason ?? '', /^UnrecogniedTaskError/);
    // Upstream still runs the usable tasks of a payload it does not ack.
    await sim.waitForTaskStatus(valid.arn, 'RUNNING', WAIT_MS);

    const next = acsTask(pair, { family: 'next', containerDefinitions: [initSleeper('main')] });
    const goodMessageId = await sim.sendPayload([next]);
    await sim.waitForTaskStatus(next.arn, 'RUNNING', WAIT_MS);
    t.true(sim.state.acked.has(goodMessageId));
    t.false(sim.state.acked.has(badMessageId), 'the payload with an unusable task is not acked');
    t.deepEqual(
      sim.agentFrames('AckRequest').filter((f) => f.message?.['messageId'] === badMessageId),
      [],
    );
    t.is(agent.taskByFamily('broken')?.Containers.length ?? 0, 0, 'nothing of the unusable task was started');
    t.is(await agent.signal('SIGTERM'), 0, 'the agent was still running and shut down cleanly');
  },
);

test.serial(
  'offline: stored tasks keep converging, ACS shows disconnected, the exit is reported once back',
  async (t) => {
    const pair = await startedPair(t, 300_000);
    const { sim, agent } = pair;
    const keeper = acsTask(pair, { family: 'keeper', containerDefinitions: [initSleeper('main')] });
    const exiter = acsTask(pair, {
      family: 'exiter',
      containerDefinitions: [
        {
          name: 'main',
          image: TEST_IMAGE,
          essential: true,
          memory: 32,
          // Exits 3 on its own once the test creates /tmp/go: a deterministic exit, at a moment the test picks.
          command: ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 1; done; exit 3'],
        },
      ],
    });
    await sim.sendPayload([keeper, exiter]);
    await Promise.all([keeper, exiter].map((task) => sim.waitForTaskStatus(task.arn, 'RUNNING', WAIT_MS)));
    const port = agent.metricsPort();
    t.is(await scrapeValue(port, 'ecs_agent_acs_connected'), 1);

    // The backend goes away: every connect refused, every API call a 500, until heal().
    sim.faults.rejectConnections(100_000);
    sim.faults.serverError('*', 100_000);
    t.true(sim.faults.dropSocket());
    await waitFor('ecs_agent_acs_connected 0', async () => (await scrapeValue(port, 'ecs_agent_acs_connected')) === 0, {
      timeoutMs: WAIT_MS,
    });
    await sim.waitUntil('a refused reconnect', () => (sim.upgradeRejections().length > 0 ? true : undefined), WAIT_MS);

    const exiterId = (await dockerIdsByContainer(agent)).get(`${exiter.arn}/main`)!;
    await agent.docker('exec', exiterId, 'touch', '/tmp/go');
    const stoppedLocally = await agent.waitForTask('exiter', (task) => task.KnownStatus === 'STOPPED', WAIT_MS);
    t.is(stoppedLocally.Containers[0]?.ExitCode, 3);
    t.is(agent.taskByFamily('keeper')?.KnownStatus, 'RUNNING');
    t.is(await scrapeValue(port, 'ecs_agent_acs_connected'), 0, 'still disconnected while converging');
    t.true(agent.outboxDepth() >= 1, 'the STOPPED change waits in the outbox');
    t.deepEqual(reportedStatuses(sim, exiter.arn), ['RUNNING'], 'nothing reached the backend meanwhile');

    const healedAtMs = Date.now();
    sim.faults.heal();
    const exited = await sim.waitForTaskStatus(exiter.arn, 'STOPPED', WAIT_MS);
    t.like(containerOf(exited, 'main'), { status: 'STOPPED', exitCode: 3, runtimeId: exiterId });
    await sim.waitUntil(
      'the agent reconnected',
      () => sim.connections().find((c) => c.openedAtMs >= healedAtMs),
      WAIT_MS,
    );
    await waitFor('ecs_agent_acs_connected 1', async () => (await scrapeValue(port, 'ecs_agent_acs_connected')) === 1, {
      timeoutMs: WAIT_MS,
    });

    await sim.sendPayload([stopping(keeper), stopping(exiter)]);
    await sim.waitForTaskStatus(keeper.arn, 'STOPPED', WAIT_MS);
    await drained(agent);
    t.deepEqual(reportedStatuses(sim, exiter.arn), ['RUNNING', 'STOPPED']);
    t.deepEqual(reportedStatuses(sim, keeper.arn), ['RUNNING', 'STOPPED']);
  },
);
