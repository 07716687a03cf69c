/**
 * The engine's own speed, without the agent: the same one-container tasks the benches give ecsd, created,
 * started and stopped by a minimal dockerode script from the create bodies ecsd builds (memory limit, init,
 * labels, name), so the engine does the same work in both runs and a ratio measures the agent alone.
 */
import Docker from 'dockerode';
import PQueue from 'p-queue';
import { buildCreateBody, dockerContainerName, stableNameSuffix } from '../reconcilers/containers/create-body.js';
import { type TaskDefinition, taskDefinitionToTaskSpec } from '../src/sources/local/index.js';
import { TEST_IMAGE } from '../test/helpers/agent-process.js';
import { percentile } from './agent-stats.js';

export interface Timings {
  allRunningMs: number;
  allStoppedMs: number;
  /** Per task (agent) or container (direct): from the start of the round to RUNNING, sorted. */
  startLatencies: number[];
}

/** Task i of a round: one essential `sleep` container with a memory limit. */
export function benchTaskDefinition(i: number, prefix = 'bench'): TaskDefinition {
  return {
    family: `${prefix}${i}`,
    containerDefinitions: [
      {
        name: 'sleep',
        image: TEST_IMAGE,
        essential: true,
        memory: 32,
        command: ['sleep', '3600'],
        // tini as PID 1 so SIGTERM stops the container at once (busybox sleep ignores it).
        linuxParameters: { initProcessEnabled: true },
      },
    ],
  };
}

/** Removes the direct baselines' containers, running or not; one that is already gone is fine. */
export async function removeForcibly(docker: Docker, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
}

/** The create body ecsd builds for a one-container task definition, for the direct baselines. */
export function directCreateBody(definition: TaskDefinition, arn: string) {
  const task = taskDefinitionToTaskSpec(definition, { arn, version: '1' });
  const container = task.containers[0]!;
  const body = buildCreateBody({
    task,
    container,
    cluster: 'bench',
    hostPorts: new Map(),
    volumeNames: new Map(),
    dockerIdsByName: new Map(),
  });
  return { task, container, body };
}

/** `count` containers of `benchTaskDefinition` created+started, then stopped, `concurrency` at a time. */
export async function benchDirect(run: string, count: number, concurrency: number): Promise<Timings> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const queue = new PQueue({ concurrency });
  const label = `ecsd-bench-direct-${process.pid}-${run}`;
  const bodies = Array.from({ length: count }, (_, i) => {
    const arn = `arn:aws:ecs:local:000000000000:task/bench/${label}-${i}`;
    const { task, container, body } = directCreateBody(benchTaskDefinition(i), arn);
    const name = dockerContainerName(task, container.name, stableNameSuffix({ arn, createdAtMs: 0 }, container.name));
    return { name, body: { ...body, Labels: { ...body.Labels, [label]: '1' } } };
  });
  const ids: string[] = [];
  const startLatencies: number[] = [];
  try {
    const t0 = Date.now();
    await Promise.all(
      bodies.map(({ name, body }) =>
        queue.add(async () => {
          const container = await docker.createContainer({ name, ...body });
          ids.push(container.id);
          await container.start();
          startLatencies.push(Date.now() - t0);
        }),
      ),
    );
    const allRunningMs = Date.now() - t0;
    const t2 = Date.now();
    await Promise.all(ids.map((id) => queue.add(() => docker.getContainer(id).stop({ t: 30 }))));
    const allStoppedMs = Date.now() - t2;
    startLatencies.sort((a, b) => a - b);
    console.log(`direct dockerode run ${run}: ${count} containers, concurrency ${concurrency}`);
    console.log(
      `  start latency     p50 ${percentile(startLatencies, 50)} ms  p95 ${percentile(startLatencies, 95)} ms (round start → start returned)`,
    );
    console.log(`  all RUNNING       ${allRunningMs} ms`);
    console.log(`  all STOPPED       ${allStoppedMs} ms`);
    return { allRunningMs, allStoppedMs, startLatencies };
  } finally {
    await removeForcibly(docker, ids);
  }
}
