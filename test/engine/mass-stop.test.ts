// Issue 9's scenario as a correctness test, on the shared engine: thirty tasks whose containers ignore
// SIGTERM (busybox sleep as PID 1, no init) all stop at once; each waits out its stopTimeout and is killed
// (137), and a task added while they stop starts. Whether it started before the stops finished (issue 9:
// it must not queue behind them) is printed, not asserted: see the end of the test.
import test from 'ava';
import type { TaskResponse } from '../../src/http/task-response.js';
import { AgentProcess, TEST_IMAGE } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/wait-for.js';

const TASKS = 30;
const STOP_TIMEOUT_SEC = 5;

/** Status per family from one read of the store (the newest task of a family wins, as `taskByFamily`). */
function statusByFamily(tasks: TaskResponse[]): Map<string, TaskResponse> {
  const byFamily = new Map<string, TaskResponse>();
  for (const task of tasks) {
    const seen = byFamily.get(task.Family);
    if (seen === undefined || (seen.DesiredStatus === 'STOPPED' && task.DesiredStatus !== 'STOPPED')) {
      byFamily.set(task.Family, task);
    }
  }
  return byFamily;
}

function stubbornTask(family: string): Record<string, unknown> {
  return {
    family,
    memory: '64',
    containerDefinitions: [
      {
        name: 'main',
        image: TEST_IMAGE,
        essential: true,
        // busybox sleep as PID 1 ignores SIGTERM: only the SIGKILL after stopTimeout ends it.
        command: ['sleep', '3600'],
        stopTimeout: STOP_TIMEOUT_SEC,
        dockerLabels: { 'ecsd.test': 'mass-stop' },
      },
    ],
  };
}

test('thirty SIGTERM-ignoring tasks removed at once all stop with 137, and a task added meanwhile starts', async (t) => {
  t.timeout(300_000);
  const agent = new AgentProcess();
  t.teardown(() => agent.cleanup());
  await agent.start();
  const families = Array.from({ length: TASKS }, (_, i) => `stubborn-${String(i).padStart(2, '0')}`);
  for (const family of families) agent.writeTaskDefinition(`${family}.json`, stubbornTask(family));
  await agent.waitFor(
    () => {
      const byFamily = statusByFamily(agent.tasks());
      return families.every((family) => byFamily.get(family)?.KnownStatus === 'RUNNING');
    },
    180_000,
    `${TASKS} tasks RUNNING`,
  );
  const running = statusByFamily(agent.tasks());
  const arns = new Map(families.map((family) => [family, running.get(family)!.Arn]));

  const removedAtMs = Date.now();
  for (const family of families) agent.removeTaskDefinition(`${family}.json`);
  // The new file right behind the removals: its start must not queue behind thirty 5-second stops.
  agent.writeTaskDefinition('newcomer.json', {
    ...stubbornTask('newcomer'),
    containerDefinitions: [
      { name: 'main', image: TEST_IMAGE, essential: true, command: ['sleep', '3600'], stopTimeout: 2 },
    ],
  });

  let stoppedWhenNewcomerRan: number | undefined;
  // Printed, never asserted (a busy machine): how far apart the two orderings were.
  let newcomerRunningAfterMs: number | undefined;
  let allStoppedAfterMs: number | undefined;
  const stoppedCount = (byFamily: Map<string, TaskResponse>): number =>
    families.filter((family) => byFamily.get(family)?.KnownStatus === 'STOPPED').length;
  await waitFor(
    'every old task STOPPED and the newcomer RUNNING',
    () => {
      const byFamily = statusByFamily(agent.tasks());
      const newcomerRunning = byFamily.get('newcomer')?.KnownStatus === 'RUNNING';
      const stopped = stoppedCount(byFamily);
      if (newcomerRunning && stoppedWhenNewcomerRan === undefined) {
        stoppedWhenNewcomerRan = stopped;
        newcomerRunningAfterMs = Date.now() - removedAtMs;
      }
      if (stopped === TASKS && allStoppedAfterMs === undefined) {
        allStoppedAfterMs = Date.now() - removedAtMs;
      }
      return stopped === TASKS && newcomerRunning;
    },
    {
      timeoutMs: 180_000,
      intervalMs: 100,
      describe: () => `${stoppedCount(statusByFamily(agent.tasks()))} of ${TASKS} stopped`,
    },
  );

  t.log(`old tasks already STOPPED when the newcomer was first seen RUNNING: ${stoppedWhenNewcomerRan} of ${TASKS}`);
  t.log(
    `seen after the removals: newcomer RUNNING ${newcomerRunningAfterMs} ms, all ${TASKS} STOPPED ${allStoppedAfterMs} ms`,
  );
  const final = statusByFamily(agent.tasks());
  for (const family of families) {
    const task = final.get(family);
    t.is(task?.Arn, arns.get(family), `${family}: the same task`);
    t.is(task?.KnownStatus, 'STOPPED', `${family} STOPPED`);
    t.is(task?.Containers[0]?.ExitCode, 137, `${family}: killed after its stopTimeout`);
  }
  t.is((await agent.dockerContainerIds({ running: true })).length, 1, 'only the newcomer runs');
  // The ordering is printed, not asserted: on today's runtime (stops hold a worker, waves of ten) it came out
  // either way in two runs (30 of 30 and 9 of 30 stopped first), and on a fixed one the margin is the 5 s
  // stopTimeout against one container start, which a machine at load 30+ (seen here) can exceed.
  t.true(newcomerRunningAfterMs !== undefined, 'the newcomer reached RUNNING');
});
