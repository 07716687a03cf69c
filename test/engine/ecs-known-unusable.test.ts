/**
 * An update of a task that is already running, which the agent cannot use (a container without an image):
 * upstream reports the task STOPPED but keeps running it; ecsd stops it, so the report and the host agree.
 * The payload is not acked, and the STOPPED change (reason `UnrecogniedTaskError…`, exit code) is sent once.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { TEST_IMAGE } from '../helpers/agent-process.js';
import { createEcsPair } from '../helpers/ecs-agent.js';
import { buildAcsTask } from '../support/ecs-sim/index.js';

test('unusable update of a running task: stopped, reported STOPPED once with the reason and exit code', async (t) => {
  t.timeout(240_000);
  const pair = await createEcsPair({ sim: { ackTimeoutMs: 120_000 } });
  t.teardown(() => pair.close());
  await pair.agent.start();
  const { region, accountId } = pair.sim.settings;
  const arn = `arn:aws:ecs:${region}:${accountId}:task/${pair.agent.cluster}/${randomBytes(16).toString('hex')}`;
  const task = buildAcsTask(
    {
      family: 'known',
      memory: '128',
      containerDefinitions: [
        {
          name: 'main',
          image: TEST_IMAGE,
          essential: true,
          memory: 32,
          command: ['sleep', '3600'],
          linuxParameters: { initProcessEnabled: true },
        },
      ],
    },
    { arn },
  );
  await pair.sim.sendPayload([task]);
  await pair.sim.waitForTaskStatus(arn, 'RUNNING', 120_000);
  const broken = { ...task, version: '2', containers: task.containers.map(({ image: _i, ...rest }) => rest) };
  await pair.sim.sendPayload([broken as typeof task], { awaitAck: false });
  const stopped = await pair.sim.waitForTaskStatus(arn, 'STOPPED', 120_000);
  t.regex(stopped.reason ?? '', /^UnrecogniedTaskError/);
  await pair.agent.waitFor(() => pair.agent.outboxDepth() === 0, 60_000, 'drained');
  t.is(pair.sim.taskStateChanges(arn).filter((c) => c.status === 'STOPPED').length, 1);
  t.deepEqual(await pair.agent.dockerContainerIds({ running: true }), []);
});
