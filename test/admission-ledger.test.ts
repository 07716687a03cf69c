/** The host resource ledger and its strict FIFO rule (issue 13, fact sheet 4.8), as table tests. */
import test from 'ava';
import {
  admissionVerdict,
  type HostCapacity,
  hostCapacity,
  type LedgerTask,
  taskDemand,
  waitingResourceOf,
} from '../reconcilers/containers/admission.js';
import type { TaskStatus } from '../src/model/status.js';
import type { TaskSpec } from '../src/model/task.js';
import { containerSpec, taskSpecWith } from './helpers/specs.js';

const CAPACITY: HostCapacity = {
  cpuUnits: 2048,
  memoryMiB: 1000,
  reservedTcpPorts: new Set([22, 51678]),
  reservedUdpPorts: new Set([53]),
};

const arn = (id: string) => `arn:aws:ecs:us-east-1:111122223333:task/demo/${id}`;

interface Want {
  cpu?: number;
  mem?: number;
  tcp?: number[];
  udp?: number[];
}

function spec(id: string, want: Want): TaskSpec {
  return taskSpecWith(arn(id), [
    containerSpec('app', {
      cpuUnits: want.cpu ?? 0,
      memoryMiB: want.mem ?? 0,
      portMappings: [
        ...(want.tcp ?? []).map((p) => ({ containerPort: 80, hostPort: p, protocol: 'tcp' as const })),
        ...(want.udp ?? []).map((p) => ({ containerPort: 53, hostPort: p, protocol: 'udp' as const })),
      ],
    }),
  ]);
}

function task(
  id: string,
  createdAtMs: number,
  want: Want,
  state: { admitted?: boolean; known?: TaskStatus; desired?: TaskStatus } = {},
): LedgerTask {
  return {
    arn: arn(id),
    createdAtMs,
    desiredStatus: state.desired ?? 'RUNNING',
    knownStatus: state.known ?? 'NONE',
    ...(state.admitted ? { admittedAtMs: createdAtMs + 1 } : {}),
    spec: spec(id, want),
  };
}

test('capacity is ncpu × 1024 CPU units and total memory less ECS_RESERVED_MEMORY', (t) => {
  const capacity = hostCapacity({
    ncpu: 2,
    memTotalBytes: 4096 * 1024 * 1024 + 12345,
    reservedMemoryMiB: 256,
    reservedPorts: [22, 2375],
    reservedPortsUdp: [],
  });
  t.is(capacity.cpuUnits, 2048);
  t.is(capacity.memoryMiB, 3840);
  t.true(capacity.reservedTcpPorts.has(2375));
  t.is(capacity.reservedUdpPorts.size, 0);
});

test('demand: task-level cpu/memory win over the containers’ sum; only static host ports count', (t) => {
  const cases: Array<{ name: string; spec: TaskSpec; cpu: number; mem: number; ports: string[] }> = [
    {
      name: 'containers summed',
      spec: taskSpecWith(arn('a'), [
        containerSpec('x', { cpuUnits: 256, memoryMiB: 128 }),
        containerSpec('y', { cpuUnits: 128, memoryMiB: 64 }),
      ]),
      cpu: 384,
      mem: 192,
      ports: [],
    },
    {
      name: 'task level',
      spec: taskSpecWith(arn('b'), [containerSpec('x', { cpuUnits: 256, memoryMiB: 128 })], {
        cpuVcpu: 0.5,
        memoryMiB: 512,
      }),
      cpu: 512,
      mem: 512,
      ports: [],
    },
    {
      name: 'bridge: static ports only, each once',
      spec: taskSpecWith(arn('c'), [
        containerSpec('x', {
          portMappings: [
            { containerPort: 80, hostPort: 8080, protocol: 'tcp' },
            { containerPort: 81, hostPort: 0, protocol: 'tcp' },
            { containerPort: 53, hostPort: 5353, protocol: 'udp' },
          ],
        }),
        containerSpec('y', { portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }] }),
      ]),
      cpu: 0,
      mem: 0,
      ports: ['8080/tcp', '5353/udp'],
    },
    {
      name: 'host mode: the container port is the host port',
      spec: taskSpecWith(arn('d'), [containerSpec('x', { portMappings: [{ containerPort: 9000, protocol: 'tcp' }] })], {
        networkMode: 'host',
      }),
      cpu: 0,
      mem: 0,
      ports: ['9000/tcp'],
    },
    {
      name: 'awsvpc holds no host port',
      spec: taskSpecWith(
        arn('e'),
        [containerSpec('x', { portMappings: [{ containerPort: 80, hostPort: 80, protocol: 'tcp' }] })],
        { networkMode: 'awsvpc' },
      ),
      cpu: 0,
      mem: 0,
      ports: [],
    },
  ];
  for (const c of cases) {
    const demand = taskDemand(c.spec);
    t.is(demand.cpuUnits, c.cpu, c.name);
    t.is(demand.memoryMiB, c.mem, c.name);
    t.deepEqual(
      demand.ports.map((p) => `${p.port}/${p.protocol}`),
      c.ports,
      c.name,
    );
  }
});

test('verdicts: fits, waits for a held port / memory / cpu, never fits', (t) => {
  const holder = task('holder', 1, { cpu: 1024, mem: 600, tcp: [5180], udp: [5353] }, { admitted: true });
  const cases: Array<{ name: string; me: LedgerTask; others: LedgerTask[]; want: string }> = [
    { name: 'empty host', me: task('me', 10, { cpu: 2048, mem: 1000, tcp: [5180] }), others: [], want: 'admit' },
    {
      name: 'tcp port held',
      me: task('me', 10, { tcp: [5180] }),
      others: [holder],
      want: `wait port: host port 5180/tcp held by task ${holder.arn}`,
    },
    {
      name: 'same number on the other protocol is free',
      me: task('me', 10, { udp: [5180] }),
      others: [holder],
      want: 'admit',
    },
    {
      name: 'udp port held',
      me: task('me', 10, { udp: [5353] }),
      others: [holder],
      want: `wait port: host port 5353/udp held by task ${holder.arn}`,
    },
    {
      name: 'memory',
      me: task('me', 10, { mem: 512 }),
      others: [holder],
      want: 'wait memory: memory: needs 512 MiB, 400 MiB free',
    },
    {
      name: 'cpu',
      me: task('me', 10, { cpu: 1536, mem: 100 }),
      others: [holder],
      want: 'wait cpu: cpu: needs 1536 units, 1024 free',
    },
    {
      name: 'a STOPPED holder has released everything',
      me: task('me', 10, { cpu: 2048, mem: 1000, tcp: [5180] }),
      others: [{ ...holder, knownStatus: 'STOPPED' }],
      want: 'admit',
    },
    {
      name: 'a holder desired STOPPED but still running still holds',
      me: task('me', 10, { tcp: [5180] }),
      others: [{ ...holder, desiredStatus: 'STOPPED', knownStatus: 'RUNNING' }],
      want: `wait port: host port 5180/tcp held by task ${holder.arn}`,
    },
    {
      name: 'a task past NONE without the admission mark (adopted) holds',
      me: task('me', 10, { tcp: [5180] }),
      others: [task('old', 1, { tcp: [5180] }, { known: 'RUNNING' })],
      want: `wait port: host port 5180/tcp held by task ${arn('old')}`,
    },
    {
      name: 'more memory than the host has',
      me: task('me', 10, { mem: 1001 }),
      others: [],
      want: 'never: memory: needs 1001 MiB, the host has 1000 MiB in total',
    },
    {
      name: 'more cpu than the host has',
      me: task('me', 10, { cpu: 4096 }),
      others: [],
      want: 'never: cpu: needs 4096 units, the host has 2048 in total',
    },
    {
      name: 'a reserved port',
      me: task('me', 10, { tcp: [51678] }),
      others: [],
      want: 'never: host port 51678/tcp is reserved on this host',
    },
  ];
  for (const c of cases) t.is(show(admissionVerdict(c.me, [...c.others, c.me], CAPACITY)), c.want, c.name);
});

test('strict FIFO: a later small task does not jump an earlier waiting task that does not fit', (t) => {
  const holder = task('holder', 1, { mem: 600 }, { admitted: true });
  const big = task('big', 5, { mem: 800 });
  const small = task('small', 9, { mem: 100 });
  const all = [holder, big, small];
  t.is(show(admissionVerdict(big, all, CAPACITY)), 'wait memory: memory: needs 800 MiB, 400 MiB free');
  t.is(
    show(admissionVerdict(small, all, CAPACITY)),
    `wait memory: queued behind task ${big.arn}, which waits for memory: needs 800 MiB, 400 MiB free`,
  );
  // The holder stops: both fit together, so neither waits for the other's write (the big one's share is
  // counted for the small one as if already admitted).
  const released = [{ ...holder, knownStatus: 'STOPPED' as const }, big, small];
  t.is(show(admissionVerdict(big, released, CAPACITY)), 'admit');
  t.is(show(admissionVerdict(small, released, CAPACITY)), 'admit');
  // A later task that would fit alone but not after the earlier one's share waits for what is left.
  const larger = task('larger', 12, { mem: 150 });
  t.is(
    show(admissionVerdict(larger, [...released, larger], CAPACITY)),
    'wait memory: memory: needs 150 MiB, 100 MiB free',
  );
  // Once the big one is admitted the same holds from the ledger alone.
  const bigIn = [released[0]!, { ...big, admittedAtMs: 20 }, small];
  t.is(show(admissionVerdict(small, bigIn, CAPACITY)), 'admit');
});

test('arrival order is creation time, then ARN; never-fitting and unwanted tasks leave the line', (t) => {
  const holder = task('holder', 1, { tcp: [80] }, { admitted: true });
  const b = task('b', 5, { tcp: [80] });
  const a = task('a', 5, { tcp: [80] });
  t.true(show(admissionVerdict(b, [holder, a, b], CAPACITY)).startsWith(`wait port: queued behind task ${a.arn}`));
  t.true(show(admissionVerdict(a, [holder, a, b], CAPACITY)).startsWith('wait port: host port 80/tcp'));
  const hopeless = task('0hopeless', 2, { mem: 5000 });
  const removed = task('0removed', 3, { tcp: [80] }, { desired: 'STOPPED' });
  t.true(
    show(admissionVerdict(a, [holder, hopeless, removed, a, b], CAPACITY)).startsWith('wait port: host port 80/tcp'),
  );
});

test('the waiting text names its resource for the gauge', (t) => {
  const cases: Array<[string, ReturnType<typeof waitingResourceOf>]> = [
    ['host port 80/tcp held by task x', 'port'],
    ['memory: needs 1 MiB, 0 MiB free', 'memory'],
    ['cpu: needs 2 units, 1 free', 'cpu'],
    ['queued behind task x, which waits for host port 80/udp held by task y', 'port'],
    ['queued behind task x', undefined],
    ['something else', undefined],
  ];
  for (const [text, resource] of cases) t.is(waitingResourceOf(text), resource, text);
});

function show(verdict: ReturnType<typeof admissionVerdict>): string {
  switch (verdict.kind) {
    case 'admit':
      return 'admit';
    case 'wait':
      return `wait ${verdict.resource}: ${verdict.waitingFor}`;
    case 'never':
      return `never: ${verdict.reason}`;
  }
}
