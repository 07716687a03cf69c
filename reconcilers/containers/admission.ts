/**
 * Host resource admission (issue 13, fact sheet 4.8): a ledger of the host's CPU units, memory MiB and
 * static TCP/UDP host ports, and the FIFO rule that admits a task only when what it asks for is free.
 * Upstream (v1.74.1+) queues tasks in arrival order and releases a task's hold when it is STOPPED; so here.
 *
 * Pure: the ledger is derived from the task records alone (who is admitted, who is not yet STOPPED), so the
 * decision is the same on every worker and after a restart — the store is the ledger.
 */
import type { TaskStatus } from '../../src/model/status.js';
import type { TaskSpec, TransportProtocol } from '../../src/model/task.js';

export const WAITING_RESOURCES = ['cpu', 'memory', 'port'] as const;
/** What a waiting task lacks; the `resource` label of `ecs_agent_tasks_waiting`. */
export type WaitingResource = (typeof WAITING_RESOURCES)[number];

export interface HostCapacity {
  /** ncpu × 1024 (what registration reports as CPU); 0 = unknown, not checked. */
  cpuUnits: number;
  /** Host memory less ECS_RESERVED_MEMORY, MiB; 0 = unknown, not checked. */
  memoryMiB: number;
  /** ECS_RESERVED_PORTS / ECS_RESERVED_PORTS_UDP: never given to a task. */
  reservedTcpPorts: ReadonlySet<number>;
  reservedUdpPorts: ReadonlySet<number>;
}

export interface HostCapacityInput {
  ncpu: number;
  memTotalBytes: number;
  reservedMemoryMiB: number;
  reservedPorts: readonly number[];
  reservedPortsUdp: readonly number[];
}

const MIB = 1024 * 1024;

/** Capacity as registration reports it: CPU = ncpu × 1024 units, MEMORY = total MiB − reserved. */
export function hostCapacity(input: HostCapacityInput): HostCapacity {
  return {
    cpuUnits: Math.max(0, Math.floor(input.ncpu) * 1024),
    memoryMiB: Math.max(0, Math.floor(input.memTotalBytes / MIB) - input.reservedMemoryMiB),
    reservedTcpPorts: new Set(input.reservedPorts),
    reservedUdpPorts: new Set(input.reservedPortsUdp),
  };
}

export interface HostPortDemand {
  port: number;
  protocol: TransportProtocol;
}

export interface TaskDemand {
  cpuUnits: number;
  memoryMiB: number;
  /** Static host ports only: a dynamic port (hostPort 0) is picked from what is free when the task starts. */
  ports: HostPortDemand[];
}

/**
 * Fact sheet 4.8: the task's cpu (vCPU × 1024) and memory when set, else the sum over its containers (the
 * container's hard memory limit; the ECS model here has no memoryReservation field to fall back to).
 */
export function taskDemand(spec: TaskSpec): TaskDemand {
  const cpuUnits =
    spec.cpuVcpu > 0 ? Math.round(spec.cpuVcpu * 1024) : spec.containers.reduce((sum, c) => sum + c.cpuUnits, 0);
  const memoryMiB = spec.memoryMiB > 0 ? spec.memoryMiB : spec.containers.reduce((sum, c) => sum + c.memoryMiB, 0);
  const ports: HostPortDemand[] = [];
  const seen = new Set<string>();
  // awsvpc and none bind nothing on the host; host mode binds the container port itself.
  if (spec.networkMode === 'bridge' || spec.networkMode === 'host') {
    for (const container of spec.containers) {
      for (const mapping of container.portMappings) {
        const port =
          spec.networkMode === 'host' ? (mapping.hostPort ?? mapping.containerPort ?? 0) : (mapping.hostPort ?? 0);
        if (port <= 0) continue;
        const key = `${port}/${mapping.protocol}`;
        if (seen.has(key)) continue;
        seen.add(key);
        ports.push({ port, protocol: mapping.protocol });
      }
    }
  }
  return { cpuUnits, memoryMiB, ports };
}

/** The task record fields the ledger reads (a TaskRecord fits). */
export interface LedgerTask {
  arn: string;
  createdAtMs: number;
  desiredStatus: TaskStatus;
  knownStatus: TaskStatus;
  admittedAtMs?: number;
  spec: TaskSpec;
}

/** Holds its resources: admitted (or already past NONE, e.g. adopted) and not yet known STOPPED. */
export function holdsResources(task: LedgerTask): boolean {
  return task.knownStatus !== 'STOPPED' && (task.admittedAtMs !== undefined || task.knownStatus !== 'NONE');
}

/** In the admission queue: not holding, not STOPPED, still wanted. */
export function isQueued(task: LedgerTask): boolean {
  return !holdsResources(task) && task.knownStatus !== 'STOPPED' && task.desiredStatus !== 'STOPPED';
}

/** Arrival order: creation time, then ARN so that equal times still give one order on every worker. */
export function arrivalOrder(a: LedgerTask, b: LedgerTask): number {
  return a.createdAtMs - b.createdAtMs || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0);
}

export type AdmissionVerdict =
  | { kind: 'admit'; demand: TaskDemand }
  | { kind: 'wait'; resource: WaitingResource; waitingFor: string }
  | { kind: 'never'; reason: string };

interface Shortfall {
  resource: WaitingResource;
  text: string;
}

interface Ledger {
  cpuUnits: number;
  memoryMiB: number;
  /** `port/protocol` → holder ARN. */
  ports: Map<string, string>;
}

function portKey(p: HostPortDemand): string {
  return `${p.port}/${p.protocol}`;
}

function hold(ledger: Ledger, arn: string, demand: TaskDemand): void {
  ledger.cpuUnits += demand.cpuUnits;
  ledger.memoryMiB += demand.memoryMiB;
  for (const p of demand.ports) if (!ledger.ports.has(portKey(p))) ledger.ports.set(portKey(p), arn);
}

/** Why a task can never run on this host, or undefined. */
export function neverFits(demand: TaskDemand, capacity: HostCapacity): string | undefined {
  if (capacity.memoryMiB > 0 && demand.memoryMiB > capacity.memoryMiB) {
    return `memory: needs ${demand.memoryMiB} MiB, the host has ${capacity.memoryMiB} MiB in total`;
  }
  if (capacity.cpuUnits > 0 && demand.cpuUnits > capacity.cpuUnits) {
    return `cpu: needs ${demand.cpuUnits} units, the host has ${capacity.cpuUnits} in total`;
  }
  for (const p of demand.ports) {
    const reserved = p.protocol === 'tcp' ? capacity.reservedTcpPorts : capacity.reservedUdpPorts;
    if (reserved.has(p.port)) return `host port ${portKey(p)} is reserved on this host`;
  }
  return undefined;
}

/** What `demand` lacks given what `ledger` holds: ports first (the most specific), then memory, then CPU. */
function shortfall(demand: TaskDemand, ledger: Ledger, capacity: HostCapacity): Shortfall | undefined {
  for (const p of demand.ports) {
    const holder = ledger.ports.get(portKey(p));
    if (holder !== undefined) return { resource: 'port', text: `host port ${portKey(p)} held by task ${holder}` };
  }
  const freeMiB = capacity.memoryMiB - ledger.memoryMiB;
  if (capacity.memoryMiB > 0 && demand.memoryMiB > freeMiB) {
    return { resource: 'memory', text: `memory: needs ${demand.memoryMiB} MiB, ${Math.max(0, freeMiB)} MiB free` };
  }
  const freeCpu = capacity.cpuUnits - ledger.cpuUnits;
  if (capacity.cpuUnits > 0 && demand.cpuUnits > freeCpu) {
    return { resource: 'cpu', text: `cpu: needs ${demand.cpuUnits} units, ${Math.max(0, freeCpu)} free` };
  }
  return undefined;
}

const QUEUED_PREFIX = 'queued behind task ';
const QUEUED_INNER = ', which waits for ';

/**
 * The admission decision for `task` (not yet holding) among `tasks` (every task in the store; `task` itself
 * may be among them). Strict FIFO as upstream: a task is admitted only if every task queued before it fits
 * too, so a later small task never overtakes an earlier large one. Queued tasks that can never fit are left
 * out of the line: their own reconcile stops them.
 */
export function admissionVerdict(
  task: LedgerTask,
  tasks: readonly LedgerTask[],
  capacity: HostCapacity,
): AdmissionVerdict {
  const demand = taskDemand(task.spec);
  const never = neverFits(demand, capacity);
  if (never !== undefined) return { kind: 'never', reason: never };

  const ledger: Ledger = { cpuUnits: 0, memoryMiB: 0, ports: new Map() };
  const others = tasks.filter((t) => t.arn !== task.arn);
  for (const t of others) if (holdsResources(t)) hold(ledger, t.arn, taskDemand(t.spec));

  const ahead = others
    .filter((t) => isQueued(t) && arrivalOrder(t, task) < 0 && neverFits(taskDemand(t.spec), capacity) === undefined)
    .sort(arrivalOrder);
  // Upstream admits its queue one task at a time, in order. The same outcome without waiting for each write:
  // every earlier task that fits is counted as admitted (its own reconcile admits it), and the first that
  // does not fit stops the line here.
  for (const earlier of ahead) {
    const earlierDemand = taskDemand(earlier.spec);
    const blocked = shortfall(earlierDemand, ledger, capacity);
    if (blocked !== undefined) {
      return {
        kind: 'wait',
        resource: blocked.resource,
        waitingFor: `${QUEUED_PREFIX}${earlier.arn}${QUEUED_INNER}${blocked.text}`,
      };
    }
    hold(ledger, earlier.arn, earlierDemand);
  }
  const short = shortfall(demand, ledger, capacity);
  if (short !== undefined) return { kind: 'wait', resource: short.resource, waitingFor: short.text };
  return { kind: 'admit', demand };
}

/** The resource a stored `waitingFor` text names (the texts above are its only writer). */
export function waitingResourceOf(waitingFor: string): WaitingResource | undefined {
  if (waitingFor.startsWith('host port ')) return 'port';
  if (waitingFor.startsWith('memory: ')) return 'memory';
  if (waitingFor.startsWith('cpu: ')) return 'cpu';
  const inner = waitingFor.indexOf(QUEUED_INNER);
  if (waitingFor.startsWith(QUEUED_PREFIX) && inner >= 0) {
    return waitingResourceOf(waitingFor.slice(inner + QUEUED_INNER.length));
  }
  return undefined;
}

/** Queued tasks by the resource their waiting text names (the `ecs_agent_tasks_waiting` gauge). */
export function countWaiting(
  tasks: ReadonlyArray<LedgerTask & { waitingFor?: string }>,
): Record<WaitingResource, number> {
  const counts: Record<WaitingResource, number> = { cpu: 0, memory: 0, port: 0 };
  for (const task of tasks) {
    if (!isQueued(task) || !task.waitingFor) continue;
    const resource = waitingResourceOf(task.waitingFor);
    if (resource !== undefined) counts[resource] += 1;
  }
  return counts;
}

/** One line for the log and the record note: what the admitted task holds from now on. */
export function describeDemand(demand: TaskDemand): string {
  const ports = demand.ports.length > 0 ? `, host ports ${demand.ports.map(portKey).join(' ')}` : '';
  return `cpu ${demand.cpuUnits} units, memory ${demand.memoryMiB} MiB${ports}`;
}
