/**
 * `make bench`: 50 one-container tasks started and stopped through a real `ecsd` (local task directory),
 * against the same 50 containers (the create bodies ecsd builds) created+started+stopped by a minimal direct
 * dockerode script at the same concurrency, before, between and after the agent's rounds. Prints numbers;
 * asserts nothing (targets are in the issue and the README).
 */
import Docker from 'dockerode';
import type { TaskDefinition } from '../src/sources/local/index.js';
import { openStoreReadOnly } from '../src/store/index.js';
import { AgentProcess, TEST_IMAGE } from '../test/helpers/agent-process.js';
import { counterBy, cpuSeconds, cpuTimes, diff, dockerCalls, peakRssMiB, percentile, total } from './agent-stats.js';
import {
  benchTaskDefinition,
  directCreateBody,
  benchDirect as directRun,
  removeForcibly,
  type Timings,
} from './direct-baseline.js';

const N = Number(process.env['BENCH_TASKS'] ?? 50);
const CONCURRENCY = 10;
const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 30);
const SETTLE_SECONDS = Number(process.env['BENCH_SETTLE_SECONDS'] ?? 5);
// The agent's default resync period (ECSD_RESYNC_INTERVAL); BENCH_RESYNC shortens it to watch relists.
const RESYNC = process.env['BENCH_RESYNC'] ?? '5m';
// Agent rounds for the time ratio (the first also measures CPU, calls and idle); a baseline runs around each.
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 2));
// Issue 9's extra scenarios: the mass stop of SIGTERM-ignoring tasks, and the 200-task launch storm (0: off).
const MASS_STOP_N = Number(process.env['BENCH_MASS_STOP_TASKS'] ?? 30);
const BIG_N = Number(process.env['BENCH_BIG_TASKS'] ?? 200);
/**
 * The bench reads Docker-call and reconcile counts from the agent's /metrics. Each scrape costs the agent
 * CPU (the registry is serialised), which is the bench's doing, not the start+stop's: scrapes made inside
 * the measured span are timed here and taken out of it.
 */
class ScrapeMeter {
  cpuSeconds = 0;
  count = 0;

  constructor(private readonly pid: number) {}

  async measure<T>(scrape: () => Promise<T>): Promise<T> {
    const before = cpuSeconds(this.pid);
    const result = await scrape();
    this.cpuSeconds += cpuSeconds(this.pid) - before;
    this.count += 1;
    return result;
  }
}

const reconciles = (port: number) => counterBy(port, 'ecs_agent_reconcile_total', 'result');

interface AgentTimings extends Timings {
  /** Per task: stored → RUNNING recorded in the store, sorted. */
  recordedLatencies: number[];
}

/**
 * Per task of `arns`, from when the source stored it to when the store recorded it RUNNING (the task's
 * knownAtMs while it is RUNNING): what `ecsd tasks` shows, not what the agent logged or Docker's StartedAt.
 */
function recordedRunningLatencies(agent: AgentProcess, arns: ReadonlySet<string>): number[] {
  const store = openStoreReadOnly({ dataDir: agent.dataDir });
  if (!store) return [];
  try {
    return store
      .listTasks()
      .filter((task) => arns.has(task.arn) && task.knownStatus === 'RUNNING')
      .map((task) => task.knownAtMs - task.createdAtMs)
      .sort((a, b) => a - b);
  } finally {
    store.close();
  }
}

/**
 * Counts the agent's task state-change reports (`msg="Task state change"`, one per task and status) as it
 * prints them, reading only what is new on each call. The bench waits on these rather than polling the
 * store: a store read every 100 ms costs ~3 ms of CPU each, on the two cores the engine needs, during the
 * agent's rounds only — which slowed the engine for the agent and not for the baseline.
 */
class StateChangeCounter {
  #offset: number;
  readonly #counts = new Map<string, number>();

  constructor(private readonly agent: AgentProcess) {
    this.#offset = agent.outputSince().length;
  }

  count(status: string): number {
    const fresh = this.agent.outputSince(this.#offset);
    const complete = fresh.lastIndexOf('\n') + 1;
    this.#offset += complete;
    for (const match of fresh.slice(0, complete).matchAll(STATE_CHANGE)) {
      this.#counts.set(match[1]!, (this.#counts.get(match[1]!) ?? 0) + 1);
    }
    return this.#counts.get(status) ?? 0;
  }
}

/** A logfmt state-change line; group 1 is the task's status (the payload's first `status`). */
const STATE_CHANGE = /msg="Task state change".*? change="\{\\"task\\":\\"[^"\\]*\\",\\"status\\":\\"([A-Z]+)\\"/g;

/**
 * One round through the agent: N task files written, all RUNNING, `whileRunning`, files removed, all
 * STOPPED. Tasks of the round are told apart by their family prefix; the waits end on the agent's state
 * change reports and are then checked against the store.
 */
async function agentRound(
  agent: AgentProcess,
  prefix: string,
  whileRunning: () => Promise<void> = async () => {},
  count = N,
): Promise<AgentTimings> {
  const ofRound = (status: string) =>
    agent.tasks().filter((t) => t.Family.startsWith(prefix) && t.KnownStatus === status).length;
  const reports = new StateChangeCounter(agent);
  const t0 = Date.now();
  for (let i = 0; i < count; i++) agent.writeTaskDefinition(`${prefix}-${i}.json`, benchTaskDefinition(i, prefix));
  await agent.waitFor(() => reports.count('RUNNING') >= count, 300_000, `all RUNNING reported (${prefix})`);
  const allRunningMs = Date.now() - t0;
  if (ofRound('RUNNING') !== count) throw new Error(`${prefix}: RUNNING reported for ${count} tasks, not in the store`);
  const arns = new Set(
    agent
      .tasks()
      .filter((t) => t.Family.startsWith(prefix))
      .map((t) => t.Arn),
  );
  const startLatencies = agent
    .taskTimings()
    .filter((t) => arns.has(t.arn))
    .map((t) => t.runningAtMs - t.createdAtMs)
    .sort((a, b) => a - b);
  const recordedLatencies = recordedRunningLatencies(agent, arns);
  await whileRunning();
  const t2 = Date.now();
  for (let i = 0; i < count; i++) agent.removeTaskDefinition(`${prefix}-${i}.json`);
  await agent.waitFor(() => reports.count('STOPPED') >= count, 300_000, `all STOPPED reported (${prefix})`);
  const allStoppedMs = Date.now() - t2;
  if (ofRound('STOPPED') !== count) throw new Error(`${prefix}: STOPPED reported for ${count} tasks, not in the store`);
  return { allRunningMs, allStoppedMs, startLatencies, recordedLatencies };
}

/**
 * The agent's rounds. The first is the measured one: CPU, Docker calls and reconciles of its start+stop,
 * and the idle period between. Later rounds (BENCH_ROUNDS) only add time samples for the ratio; `between`
 * runs before each of them (the next baseline).
 */
/**
 * An agent at its defaults otherwise (info logs in logfmt, the 1 s store poll rather than the test harness's
 * 200 ms), as an operator would run it.
 */
function benchAgentProcess(extraEnv: Record<string, string> = {}): AgentProcess {
  return new AgentProcess({
    env: {
      ECSD_RESYNC_INTERVAL: RESYNC,
      ECSD_POLL_INTERVAL: '1s',
      ECS_LOGLEVEL: 'info',
      ECS_LOG_OUTPUT_FORMAT: 'logfmt',
      ...extraEnv,
    },
    nodeArgs: (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
  });
}

async function benchAgent(between: () => Promise<void>): Promise<{ rounds: AgentTimings[]; cpuPerTaskS: number }> {
  const agent = benchAgentProcess();
  try {
    await agent.start();
    const pid = agent.pid()!;
    const port = agent.metricsPort();
    const calls0 = await dockerCalls(port);
    const reconciles0 = await reconciles(port);
    const scrapes = new ScrapeMeter(pid);
    const cpu0 = cpuSeconds(pid);
    const times0 = cpuTimes(pid);
    let idleCpu = 0;
    let callsIdle: Record<string, number> = {};
    const first = await agentRound(agent, 'bench', async () => {
      // Let the burst settle (outbox drained, last events handled) before measuring the idle agent. (V8's
      // memory reducer, whose full GCs used to land here 10-30 s after a burst, is off: see src/cli/main.ts.)
      await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000));
      // Scraped once the agent is quiet, so the scrape's own CPU is all that the meter sees.
      const callsRunning = await scrapes.measure(() => dockerCalls(port));
      const cpuIdle0 = cpuSeconds(pid);
      await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
      idleCpu = cpuSeconds(pid) - cpuIdle0;
      callsIdle = diff(await scrapes.measure(() => dockerCalls(port)), callsRunning);
    });
    const cpuTotal = cpuSeconds(pid) - cpu0 - idleCpu - scrapes.cpuSeconds;
    const times1 = cpuTimes(pid);
    const calls = diff(await dockerCalls(port), calls0);
    const idleCalls = total(callsIdle);
    const startStopCalls = total(calls) - idleCalls;
    const { startLatencies, recordedLatencies } = first;

    console.log(`ecsd: ${N} tasks, concurrency ${CONCURRENCY}, resync ${RESYNC}`);
    console.log(
      `  desired→RUNNING   p50 ${percentile(startLatencies, 50)} ms  p95 ${percentile(startLatencies, 95)} ms  max ${startLatencies.at(-1)} ms`,
    );
    console.log(
      `  RUNNING recorded  p50 ${percentile(recordedLatencies, 50)} ms  p95 ${percentile(recordedLatencies, 95)} ms (from the store: stored → knownStatus RUNNING)`,
    );
    console.log(`  all RUNNING       ${first.allRunningMs} ms`);
    console.log(`  all STOPPED       ${first.allStoppedMs} ms`);
    console.log(
      `  agent CPU         ${cpuTotal.toFixed(2)} s for start+stop (target ≤ 1.0 s); user ${(times1.user - times0.user).toFixed(2)} s, system ${(times1.system - times0.system).toFixed(2)} s incl. idle`,
    );
    console.log(
      `  (not counted: the bench's ${scrapes.count} /metrics scrapes within the span, ${(scrapes.cpuSeconds * 1000).toFixed(0)} ms of agent CPU)`,
    );
    console.log(`  peak RSS          ${peakRssMiB(pid).toFixed(1)} MiB (target ≤ 110 MiB)`);
    console.log(
      `  Docker calls      ${startStopCalls} = ${(startStopCalls / N).toFixed(1)} per task (target ≤ 8) ${JSON.stringify(diff(calls, callsIdle))}`,
    );
    console.log(`  reconciles        ${JSON.stringify(diff(await reconciles(port), reconciles0))} (idle included)`);
    console.log(
      `  idle ${IDLE_SECONDS}s         CPU ${((idleCpu / IDLE_SECONDS) * 100).toFixed(2)} % (target < 0.5 %), Docker calls ${JSON.stringify(callsIdle)}`,
    );

    const rounds: AgentTimings[] = [first];
    for (let round = 2; round <= ROUNDS; round++) {
      await between();
      const next = await agentRound(agent, `r${round}bench`);
      console.log(`ecsd round ${round}: all RUNNING ${next.allRunningMs} ms, all STOPPED ${next.allStoppedMs} ms`);
      rounds.push(next);
    }
    await massStop(agent);
    // A graceful stop, so a profile asked for through BENCH_NODE_ARGS (--cpu-prof) is written.
    await agent.signal('SIGTERM');
    return { rounds, cpuPerTaskS: cpuTotal / N };
  } finally {
    await agent.cleanup();
  }
}

/** The direct baseline at this bench's size and concurrency. */
const benchDirect = (run: string): Promise<Timings> => directRun(run, N, CONCURRENCY);

/** Issue 9's mass stop: tasks whose container ignores SIGTERM (busybox sleep as PID 1), stopTimeout 5 s. */
function sigtermIgnoringTask(i: number, prefix: string): TaskDefinition {
  return {
    family: `${prefix}${i}`,
    containerDefinitions: [
      { name: 'sleep', image: TEST_IMAGE, essential: true, memory: 32, command: ['sleep', '3600'], stopTimeout: 5 },
    ],
  };
}

/**
 * The engine's own time for the mass stop: MASS_STOP_N containers from the same create bodies ecsd builds
 * for `sigtermIgnoringTask`, started, then all `docker stop -t 5` at once. What the agent's mass stop is
 * compared with: on a busy VM the engine itself needs seconds past the grace period to kill and reap 30.
 */
interface DirectMassStop {
  allStoppedMs: number;
  /** One container's create+start through the engine alone: on the idle engine, and issued with the stops. */
  probeIdleMs: number;
  probeBusyMs: number;
}

/** The same scenario without the agent: what the engine itself takes, for the mass stop and for the probe. */
async function directMassStop(): Promise<DirectMassStop> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const label = `ecsd-bench-massstop-${process.pid}`;
  const ids: string[] = [];
  const createStarted = async (definition: TaskDefinition, name: string): Promise<void> => {
    const { body } = directCreateBody(definition, `arn:aws:ecs:local:000000000000:task/bench/${label}-${name}`);
    const created = await docker.createContainer({ ...body, Labels: { ...body.Labels, [label]: '1' } });
    ids.push(created.id);
    await created.start();
  };
  const timedProbe = async (name: string): Promise<number> => {
    const t0 = Date.now();
    await createStarted(benchTaskDefinition(0, name), name);
    return Date.now() - t0;
  };
  try {
    for (let i = 0; i < MASS_STOP_N; i++) await createStarted(sigtermIgnoringTask(i, 'directmass'), String(i));
    const probeIdleMs = await timedProbe('probeidle');
    const stopping = ids.slice(0, MASS_STOP_N);
    const t0 = Date.now();
    const stops = Promise.all(stopping.map((id) => docker.getContainer(id).stop({ t: 5 })));
    const probeBusyMs = await timedProbe('probebusy');
    await stops;
    return { allStoppedMs: Date.now() - t0, probeIdleMs, probeBusyMs };
  } finally {
    await removeForcibly(docker, ids);
  }
}

/** Writes one task file and returns how long until the store shows it RUNNING. */
async function probeStart(agent: AgentProcess, family: string): Promise<number> {
  const t0 = Date.now();
  agent.writeTaskDefinition(`${family}.json`, benchTaskDefinition(0, family));
  await agent.waitFor(() => agent.taskByFamily(`${family}0`)?.KnownStatus === 'RUNNING', 120_000, `${family} RUNNING`);
  return Date.now() - t0;
}

/**
 * MASS_STOP_N tasks that ignore SIGTERM are removed at once: every stop waits out its 5 s grace, so the
 * agent must run them side by side (upstream: ~5 s for all), and a task added meanwhile must start as fast as
 * on an idle agent rather than wait behind the stops.
 */
async function massStop(agent: AgentProcess): Promise<void> {
  const reports = new StateChangeCounter(agent);
  for (let i = 0; i < MASS_STOP_N; i++) agent.writeTaskDefinition(`mass-${i}.json`, sigtermIgnoringTask(i, 'mass'));
  await agent.waitFor(() => reports.count('RUNNING') >= MASS_STOP_N, 300_000, 'mass tasks RUNNING');
  const idleProbeMs = await probeStart(agent, 'probeidle');
  const t0 = Date.now();
  for (let i = 0; i < MASS_STOP_N; i++) agent.removeTaskDefinition(`mass-${i}.json`);
  const busyProbe = probeStart(agent, 'probebusy');
  await agent.waitFor(() => reports.count('STOPPED') >= MASS_STOP_N, 300_000, 'mass tasks STOPPED');
  const allStoppedMs = Date.now() - t0;
  const busyProbeMs = await busyProbe;
  const direct = await directMassStop();
  console.log(`mass stop: ${MASS_STOP_N} tasks ignoring SIGTERM, stopTimeout 5 s, removed at once`);
  console.log(
    `  all STOPPED       ${allStoppedMs} ms (target ≤ 7000 ms); the engine alone, ${MASS_STOP_N} direct docker stop -t 5 at once: ${direct.allStoppedMs} ms`,
  );
  console.log(`  a task added meanwhile RUNNING after ${busyProbeMs} ms (on the idle agent: ${idleProbeMs} ms)`);
  console.log(
    `  the engine alone   create+start of one container issued with the ${MASS_STOP_N} stops: ${direct.probeBusyMs} ms (idle engine: ${direct.probeIdleMs} ms)`,
  );
  agent.removeTaskDefinition('probeidle.json');
  agent.removeTaskDefinition('probebusy.json');
  await agent.waitFor(() => reports.count('STOPPED') >= MASS_STOP_N + 2, 120_000, 'probes STOPPED');
}

/**
 * A launch storm: BIG_N tasks through an agent with 20 workers per loop. Docker must answer every call (no
 * error from an overwhelmed engine) and the agent's CPU per task must stay near the 50-task round's.
 */
async function bigRound(cpuPerTaskOf50S: number): Promise<void> {
  const agent = benchAgentProcess({ ECSD_MAX_CONCURRENT_RECONCILES: '20' });
  try {
    await agent.start();
    const pid = agent.pid()!;
    const port = agent.metricsPort();
    const results0 = await counterBy(port, 'ecs_agent_docker_operations_total', 'result');
    const cpu0 = cpuSeconds(pid);
    const round = await agentRound(agent, 'big', async () => {}, BIG_N);
    const cpuS = cpuSeconds(pid) - cpu0;
    const results = diff(await counterBy(port, 'ecs_agent_docker_operations_total', 'result'), results0);
    console.log(`ecsd: ${BIG_N} tasks, concurrency 20`);
    console.log(`  all RUNNING       ${round.allRunningMs} ms, all STOPPED ${round.allStoppedMs} ms`);
    console.log(`  Docker calls      ${JSON.stringify(results)} (target: no error)`);
    console.log(
      `  agent CPU         ${cpuS.toFixed(2)} s = ${((cpuS / BIG_N) * 1000).toFixed(1)} ms per task, ${(cpuS / BIG_N / cpuPerTaskOf50S).toFixed(2)}× the ${N}-task round's (target ≤ 1.2×)`,
    );
    await agent.signal('SIGTERM');
  } finally {
    await agent.cleanup();
  }
}

// Baselines run before, between and after the agent's rounds (D A D A D with the default two rounds), and
// the ratio compares the means: the engine's own speed drifts by tens of percent over a few minutes on this
// VM, and a single sample on either side would charge that drift to the agent.
const directRuns: Timings[] = [await benchDirect('1')];
const { rounds: agentRuns, cpuPerTaskS } = await benchAgent(async () => {
  directRuns.push(await benchDirect(String(directRuns.length + 1)));
});
directRuns.push(await benchDirect(String(directRuns.length + 1)));
const mean = (runs: Timings[], pick: (t: Timings) => number): number =>
  runs.reduce((sum, t) => sum + pick(t), 0) / runs.length;
const ratio = (pick: (t: Timings) => number): string => (mean(agentRuns, pick) / mean(directRuns, pick)).toFixed(2);
console.log(
  `ratio ecsd/direct: all RUNNING ${ratio((t) => t.allRunningMs)}× (target ≤ 1.1×), all STOPPED ${ratio((t) => t.allStoppedMs)}× ` +
    `(means of ${agentRuns.length} agent rounds, ${Math.round(mean(agentRuns, (t) => t.allRunningMs))} / ${Math.round(mean(agentRuns, (t) => t.allStoppedMs))} ms, ` +
    `and ${directRuns.length} direct runs, ${Math.round(mean(directRuns, (t) => t.allRunningMs))} / ${Math.round(mean(directRuns, (t) => t.allStoppedMs))} ms)`,
);
const pooled = (runs: Timings[], p: number): number => {
  const all = runs.flatMap((t) => t.startLatencies).sort((a, b) => a - b);
  return percentile(all, p);
};
const recorded = agentRuns.flatMap((t) => t.recordedLatencies).sort((a, b) => a - b);
console.log(
  `ratio RUNNING recorded / direct start latency: p50 ${(percentile(recorded, 50) / pooled(directRuns, 50)).toFixed(2)}× ` +
    `p95 ${(percentile(recorded, 95) / pooled(directRuns, 95)).toFixed(2)}× (target ≤ 1.1×; ecsd p50/p95 ${percentile(recorded, 50)}/${percentile(recorded, 95)} ms, ` +
    `direct ${pooled(directRuns, 50)}/${pooled(directRuns, 95)} ms, every round pooled)`,
);
if (BIG_N > 0) await bigRound(cpuPerTaskS);
