/**
 * `make bench`, ECS mode (issue 11): a real `ecsd` registered with the loopback simulator gets 50
 * one-container tasks in ONE PayloadMessage, then one payload with all of them desired STOPPED. Times are the
 * simulator's own: from the moment it wrote the payload frame to the moment it received each
 * SubmitTaskStateChange. The direct Docker baseline (the same containers without an agent) runs before and
 * after the agent's round. Prints numbers next to the targets; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { createEcsPair } from '../test/helpers/ecs-agent.js';
import { type AcsTask, buildAcsTask, type EcsSimulator } from '../test/support/ecs-sim/index.js';
import { cpuTimes, diff, dockerCalls, peakRssMiB, percentile, total } from './agent-stats.js';
import { benchDirect, benchTaskDefinition, type Timings } from './direct-baseline.js';

const N = Number(process.env['BENCH_ECS_TASKS'] ?? 50);
// The direct baseline's concurrency: the agent's default worker count per loop.
const CONCURRENCY = 10;
const WAIT_MS = 300_000;

interface Reported {
  /** Per task: payload frame written → status received, sorted. */
  latencies: number[];
  allMs: number;
}

/** When the simulator wrote the PayloadMessage `messageId`. */
function payloadSentAtMs(sim: EcsSimulator, messageId: string): number {
  const frame = sim.sentFrames('PayloadMessage').find((f) => f.messageId === messageId);
  if (frame === undefined) throw new Error(`payload ${messageId} was never written to a socket`);
  return frame.atMs;
}

/** From the simulator's record of accepted SubmitTaskStateChange calls: each task's first `status`, relative to `t0`. */
async function reported(sim: EcsSimulator, tasks: readonly AcsTask[], status: string, t0: number): Promise<Reported> {
  await Promise.all(tasks.map((task) => sim.waitForTaskStatus(task.arn, status, WAIT_MS)));
  const latencies = tasks
    .map((task) => {
      const call = sim
        .calls('SubmitTaskStateChange')
        .find((c) => c.statusCode === 200 && isChange(c.body, task.arn, status));
      return (call?.atMs ?? Number.NaN) - t0;
    })
    .sort((a, b) => a - b);
  return { latencies, allMs: latencies.at(-1) ?? Number.NaN };
}

function isChange(body: unknown, arn: string, status: string): boolean {
  const change = body as { task?: unknown; status?: unknown } | undefined;
  return change?.task === arn && change.status === status;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

async function benchEcsAgent(): Promise<Reported> {
  const pair = await createEcsPair({
    sim: { ackTimeoutMs: WAIT_MS },
    // As an operator would run it (info logs in logfmt, the default 1 s store poll), like the containers bench.
    agent: { env: { ECSD_POLL_INTERVAL: '1s', ECS_LOGLEVEL: 'info', ECS_LOG_OUTPUT_FORMAT: 'logfmt' } },
  });
  const { sim, agent } = pair;
  try {
    await agent.start();
    await sim.waitForConnection(1, WAIT_MS);
    const pid = agent.pid()!;
    const port = agent.metricsPort();
    const calls0 = await dockerCalls(port);
    const apiSeq0 = sim.calls().length;
    const cpu0 = cpuTimes(pid);

    const { region, accountId } = sim.settings;
    const tasks = Array.from({ length: N }, (_, i) =>
      buildAcsTask(benchTaskDefinition(i, 'ecsbench'), {
        arn: `arn:aws:ecs:${region}:${accountId}:task/${agent.cluster}/${randomBytes(16).toString('hex')}`,
      }),
    );
    const startId = await sim.sendPayload(tasks, { timeoutMs: WAIT_MS });
    const running = await reported(sim, tasks, 'RUNNING', payloadSentAtMs(sim, startId));
    const stopId = await sim.sendPayload(
      tasks.map((task) => ({ ...task, desiredStatus: 'STOPPED' as const })),
      { timeoutMs: WAIT_MS },
    );
    const stopped = await reported(sim, tasks, 'STOPPED', payloadSentAtMs(sim, stopId));

    // CPU first: the scrape below costs the agent CPU of its own.
    const cpu1 = cpuTimes(pid);
    const cpuS = cpu1.user - cpu0.user + (cpu1.system - cpu0.system);
    const calls = diff(await dockerCalls(port), calls0);
    const apiCalls = sim.calls().slice(apiSeq0);
    const registration = sim.calls().slice(0, apiSeq0);
    const reports = sim.calls('SubmitTaskStateChange').filter((c) => c.statusCode === 200).length;

    console.log(`ecsd ECS mode: ${N} one-container tasks in one PayloadMessage, then one payload stopping them all`);
    console.log(
      `  payload→RUNNING reported  p50 ${percentile(running.latencies, 50)} ms  p95 ${percentile(running.latencies, 95)} ms  all ${running.allMs} ms`,
    );
    console.log(
      `  stop→STOPPED reported     all ${stopped.allMs} ms (p50 ${percentile(stopped.latencies, 50)} ms, p95 ${percentile(stopped.latencies, 95)} ms)`,
    );
    console.log(
      `  agent CPU                 ${cpuS.toFixed(2)} s user+sys for start+stop incl. reporting (target ≤ 1.0 s); user ${(cpu1.user - cpu0.user).toFixed(2)} s, sys ${(cpu1.system - cpu0.system).toFixed(2)} s`,
    );
    console.log(`  peak RSS                  ${peakRssMiB(pid).toFixed(1)} MiB, SDK loaded (target ≤ 120 MiB)`);
    console.log(
      `  Docker calls              ${total(calls)} = ${(total(calls) / N).toFixed(1)} per task (target ≤ 8) ${JSON.stringify(calls)}`,
    );
    console.log(
      `  ECS API calls             start+stop ${JSON.stringify(countBy(apiCalls, (c) => c.operation))}; before it ${JSON.stringify(countBy(registration, (c) => c.operation))}; ${reports} task changes accepted`,
    );
    await agent.signal('SIGTERM');
    return running;
  } finally {
    await pair.close();
  }
}

// The engine's speed drifts on this VM over minutes: baselines before and after the agent, compared by mean.
const directRuns: Timings[] = [await benchDirect('1', N, CONCURRENCY)];
const running = await benchEcsAgent();
directRuns.push(await benchDirect('2', N, CONCURRENCY));
const directAllRunningMs = directRuns.reduce((sum, t) => sum + t.allRunningMs, 0) / directRuns.length;
console.log(
  `ratio ecsd (ECS mode, RUNNING reported) / direct all RUNNING: ${(running.allMs / directAllRunningMs).toFixed(2)}× ` +
    `(target ≤ 1.1×; ${running.allMs} ms vs the mean of ${directRuns.length} direct runs, ${Math.round(directAllRunningMs)} ms)`,
);
