/** The dynamic host port allocator (fact sheet 3.6) and the ip_local_port_range parser. */
import test from 'ava';
import { CannotCreateContainerError, isEcsdError } from '../src/errors.js';
import {
  DEFAULT_DYNAMIC_PORT_RANGE,
  HostPortAllocator,
  HostPortExhaustedError,
  parseIpLocalPortRange,
} from '../src/host/ports.js';
import type { TransportProtocol } from '../src/model/task.js';

function allocator(options: {
  startPort?: number;
  endPort?: number;
  reserved?: number[];
  busy?: Array<[number, TransportProtocol]>;
  throwsFor?: number[];
}): { ports: HostPortAllocator; probes: Array<[number, TransportProtocol]> } {
  const busy = new Set((options.busy ?? []).map(([port, protocol]) => `${port}/${protocol}`));
  const probes: Array<[number, TransportProtocol]> = [];
  const ports = new HostPortAllocator({
    range: { startPort: options.startPort ?? 40000, endPort: options.endPort ?? 40004 },
    reserved: new Set(options.reserved ?? []),
    isFree: (port, protocol) => {
      probes.push([port, protocol]);
      if (options.throwsFor?.includes(port)) throw new Error('EACCES');
      return !busy.has(`${port}/${protocol}`);
    },
  });
  return { ports, probes };
}

test('allocation starts at the range start and continues after the last port handed out', (t) => {
  const { ports } = allocator({});
  t.deepEqual([ports.allocate('tcp'), ports.allocate('tcp'), ports.allocate('tcp')], [40000, 40001, 40002]);
  // A released port is not reused right away: the search continues after the last one handed out.
  ports.release(40000, 'tcp');
  t.is(ports.allocate('tcp'), 40003);
});

test('both protocols share the continuation point, as upstream tracks one last port', (t) => {
  const { ports } = allocator({});
  t.is(ports.allocate('tcp'), 40000);
  t.is(ports.allocate('udp'), 40001);
  t.is(ports.allocate('tcp'), 40002);
});

test('reserved, taken and busy ports are skipped; a throwing probe counts as busy', (t) => {
  const { ports, probes } = allocator({ reserved: [40000], busy: [[40001, 'tcp']], throwsFor: [40002] });
  t.is(ports.allocate('tcp'), 40003);
  t.false(
    probes.some(([port]) => port === 40000),
    'reserved ports are not even probed',
  );
  t.is(ports.allocate('udp'), 40004, 'continues after the last port even for another protocol');
  t.is(ports.allocate('udp'), 40001, 'wrapped: 40000 reserved, 40001 is only busy for tcp');
});

test('the search wraps around to the range start once', (t) => {
  const { ports } = allocator({});
  for (let i = 0; i < 5; i++) ports.allocate('tcp');
  ports.release(40001, 'tcp');
  t.is(ports.allocate('tcp'), 40001);
  ports.release(40003, 'tcp');
  t.is(ports.allocate('tcp'), 40003);
});

test('an exhausted range throws a typed create error after probing each port once', (t) => {
  const { ports, probes } = allocator({ reserved: [40000], busy: [[40002, 'tcp']] });
  ports.allocate('tcp');
  ports.allocate('tcp');
  ports.allocate('tcp');
  probes.length = 0;
  const error = t.throws(() => ports.allocate('tcp'), { instanceOf: HostPortExhaustedError });
  t.true(error instanceof CannotCreateContainerError);
  t.true(isEcsdError(error) && error.code === 'CannotCreateContainerError');
  t.is(error?.errorClass, 'terminal');
  t.deepEqual(error?.context, { startPort: 40000, endPort: 40004, protocol: 'tcp' });
  t.regex(error?.message ?? '', /no free host port for tcp in the dynamic range 40000-40004/);
  t.deepEqual(probes, [[40002, 'tcp']], 'only the port that was neither taken nor reserved is probed');
  // The other protocol still has room.
  t.is(ports.allocate('udp'), 40001);
});

test('markTaken keeps a port from being handed out', (t) => {
  const { ports } = allocator({});
  ports.markTaken(40000, 'tcp');
  t.is(ports.allocate('tcp'), 40001);
});

test('an invalid range is refused at construction', (t) => {
  for (const range of [
    { startPort: 50000, endPort: 40000 },
    { startPort: 0, endPort: 10 },
    { startPort: 60000, endPort: 70000 },
  ]) {
    t.throws(() => new HostPortAllocator({ range, reserved: new Set(), isFree: () => true }), {
      instanceOf: CannotCreateContainerError,
    });
  }
});

test('parseIpLocalPortRange reads the proc file and falls back to 49153-65535', (t) => {
  const cases: Array<[string, { startPort: number; endPort: number }]> = [
    ['32768\t60999\n', { startPort: 32768, endPort: 60999 }],
    ['  1024   65535  ', { startPort: 1024, endPort: 65535 }],
    ['', { ...DEFAULT_DYNAMIC_PORT_RANGE }],
    ['32768', { ...DEFAULT_DYNAMIC_PORT_RANGE }],
    ['60999 32768', { ...DEFAULT_DYNAMIC_PORT_RANGE }],
    ['abc def', { ...DEFAULT_DYNAMIC_PORT_RANGE }],
    ['1 2 3', { ...DEFAULT_DYNAMIC_PORT_RANGE }],
    ['0 100', { ...DEFAULT_DYNAMIC_PORT_RANGE }],
    ['100 70000', { ...DEFAULT_DYNAMIC_PORT_RANGE }],
  ];
  for (const [text, expected] of cases) t.deepEqual(parseIpLocalPortRange(text), expected, JSON.stringify(text));
  t.deepEqual(DEFAULT_DYNAMIC_PORT_RANGE, { startPort: 49153, endPort: 65535 });
});

test('allocateRange hands out a contiguous free block after the last port, skipping blocks with a busy port', (t) => {
  const busy = new Set([103]);
  const allocator = new HostPortAllocator({
    range: { startPort: 100, endPort: 110 },
    reserved: new Set([100]),
    isFree: (port) => !busy.has(port),
  });
  t.is(allocator.allocateRange(2, 'tcp'), 101, '101-102: 100 is reserved');
  t.is(allocator.allocateRange(3, 'tcp'), 104, '103 is busy, so 104-106');
  t.is(allocator.allocate('tcp'), 107, 'single ports continue after the block');
  t.is(allocator.allocateRange(3, 'tcp'), 108, '108-110 fits at the end');
  t.throws(() => allocator.allocateRange(3, 'tcp'), { instanceOf: HostPortExhaustedError });
  allocator.release(104, 'tcp');
  allocator.release(105, 'tcp');
  allocator.release(106, 'tcp');
  t.is(allocator.allocateRange(3, 'tcp'), 104, 'released ports are reusable after wrapping around');
});
