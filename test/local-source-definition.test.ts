/**
 * Task-definition files: schema and semantic validation (errors name the file and every bad field), the
 * conversion into the internal TaskSpec with the dockerConfig overlay ACS would carry (fact sheet 3.3,
 * 3.5), and every shipped example in examples/tasks passing the validator.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { EcsdError } from '../src/errors.js';
import {
  parseTaskCpuUnits,
  parseTaskDefinitionFile,
  parseTaskMemoryMiB,
  type TaskDefinition,
  taskDefinitionToTaskSpec,
} from '../src/sources/local/index.js';

const EXAMPLES_DIR = join(process.cwd(), 'examples', 'tasks');
const IDS = { arn: 'arn:aws:ecs:local:000000000000:task/default/0123456789abcdef0123456789abcdef', version: '1' };

function minimal(overrides: Record<string, unknown> = {}, container: Record<string, unknown> = {}): string {
  return JSON.stringify({
    family: 'web',
    containerDefinitions: [{ name: 'app', image: 'ecsd-test/busybox:latest', memory: 32, ...container }],
    ...overrides,
  });
}

/** The TaskValidationError's message, asserting its type and that it names the file. */
function rejection(t: import('ava').ExecutionContext, file: string, text: string): string {
  const error = t.throws(() => parseTaskDefinitionFile(file, text));
  t.true(error instanceof EcsdError, 'a typed error');
  t.is((error as EcsdError).code, 'TaskValidationError');
  t.true(error!.message.startsWith(`${file}: `), `names the file: ${error!.message}`);
  return error!.message;
}

test('every shipped example validates and converts', (t) => {
  const files = readdirSync(EXAMPLES_DIR).filter((name) => name.endsWith('.json'));
  t.true(files.length >= 2, 'examples/tasks holds examples');
  for (const file of files) {
    const def = parseTaskDefinitionFile(file, readFileSync(join(EXAMPLES_DIR, file), 'utf8'));
    const spec = taskDefinitionToTaskSpec(def, IDS);
    t.is(spec.family, def.family, file);
    for (const container of spec.containers) {
      t.is(container.image, 'ecsd-test/busybox:latest', `${file}: uses the locally built test image`);
      t.true((container.command ?? []).length > 0, `${file}: the test image has no CMD, so a command is given`);
    }
  }
});

test('schema errors name every bad field at once, with what was expected', (t) => {
  const message = rejection(
    t,
    'bad.json',
    JSON.stringify({
      family: 'web app',
      networkMode: 'overlay',
      cpu: 'two cores',
      containerDefinitions: [
        { name: 'app', image: 'x', memry: 64, portMappings: [{ containerPort: 80, protocol: 'sctp' }] },
        { image: 'y', memory: 'lots' },
      ],
      extra: true,
    }),
  );
  for (const expected of [
    'extra: unknown field',
    'family: must be 1-255 letters, digits, hyphens and underscores',
    'networkMode: must be one of "bridge", "host", "awsvpc", "none"',
    'cpu: must be CPU units',
    'containerDefinitions[0].memry: unknown field',
    'containerDefinitions[0].portMappings[0].protocol: must be one of "tcp", "udp"',
    'containerDefinitions[1].name: is required',
    'containerDefinitions[1].memory: must be an integer',
  ]) {
    t.true(message.includes(expected), `"${expected}" in: ${message}`);
  }
});

test('malformed JSON is named as such', (t) => {
  const message = rejection(t, 'broken.json', '{"family": "web",\n  "containerDefinitions": [}');
  t.regex(message, /^broken\.json: invalid JSON: /);
});

test('a required top-level field that is missing is named', (t) => {
  t.regex(rejection(t, 'empty.json', '{}'), /family: is required; containerDefinitions: is required/);
});

const semanticCases: Array<[string, string, RegExp]> = [
  [
    'duplicate container names',
    JSON.stringify({
      family: 'f',
      containerDefinitions: [
        { name: 'a', image: 'x', memory: 8 },
        { name: 'a', image: 'y', memory: 8 },
      ],
    }),
    /containerDefinitions\[1\]\.name: duplicate container name "a"/,
  ],
  [
    'dependsOn an unknown container',
    minimal({}, { dependsOn: [{ containerName: 'db', condition: 'START' }] }),
    /containerDefinitions\[0\]\.dependsOn\[0\]\.containerName: unknown container "db"/,
  ],
  [
    'links an unknown container',
    minimal({}, { links: ['db:database'] }),
    /containerDefinitions\[0\]\.links\[0\]: unknown container "db"/,
  ],
  [
    'volumesFrom an unknown container',
    minimal({}, { volumesFrom: [{ sourceContainer: 'data' }] }),
    /containerDefinitions\[0\]\.volumesFrom\[0\]\.sourceContainer: unknown container "data"/,
  ],
  [
    'mountPoints an unknown volume',
    minimal({}, { mountPoints: [{ sourceVolume: 'logs', containerPath: '/logs' }] }),
    /containerDefinitions\[0\]\.mountPoints\[0\]\.sourceVolume: unknown volume "logs"/,
  ],
  [
    'host port conflict within the task',
    JSON.stringify({
      family: 'f',
      containerDefinitions: [
        { name: 'a', image: 'x', memory: 8, portMappings: [{ containerPort: 80, hostPort: 8080 }] },
        { name: 'b', image: 'x', memory: 8, portMappings: [{ containerPort: 81, hostPort: 8080 }] },
      ],
    }),
    /containerDefinitions\[1\]\.portMappings\[0\]: host port 8080\/tcp is already used by containerDefinitions\[0\]\.portMappings\[0\]/,
  ],
  [
    'host mode: same container port twice',
    JSON.stringify({
      family: 'f',
      networkMode: 'host',
      containerDefinitions: [
        { name: 'a', image: 'x', memory: 8, portMappings: [{ containerPort: 80 }] },
        { name: 'b', image: 'x', memory: 8, portMappings: [{ containerPortRange: '79-81' }] },
      ],
    }),
    /containerDefinitions\[1\]\.portMappings\[0\]: host port 80\/tcp is already used/,
  ],
  [
    'containerPortRange backwards',
    minimal({}, { portMappings: [{ containerPortRange: '9000-8000' }] }),
    /containerDefinitions\[0\]\.portMappings\[0\]\.containerPortRange: must be "start-end" with 1 <= start < end <= 65535/,
  ],
  [
    'containerPortRange not a range',
    minimal({}, { portMappings: [{ containerPortRange: '8000' }] }),
    /containerDefinitions\[0\]\.portMappings\[0\]\.containerPortRange: must be a port range "start-end"/,
  ],
  [
    'awsvpc has no ENI locally',
    minimal({ networkMode: 'awsvpc' }),
    /networkMode: "awsvpc" needs an elastic network interface .* the local task source has no ENI/,
  ],
  [
    'no essential container',
    minimal({}, { essential: false }),
    /containerDefinitions: at least one container must be essential/,
  ],
  [
    'no memory anywhere',
    minimal({}, { memory: undefined }),
    /containerDefinitions\[0\]: at least one of "memory" or "memoryReservation" must be set/,
  ],
  [
    'memoryReservation above memory',
    minimal({}, { memory: 32, memoryReservation: 64 }),
    /containerDefinitions\[0\]\.memoryReservation: must not exceed memory \(32 MiB\)/,
  ],
  [
    'container memory above task memory',
    minimal({ memory: '0.0625 GB' }, { memory: 128 }),
    /containerDefinitions\[0\]\.memory: exceeds the task memory \(64 MiB\)/,
  ],
  [
    'secrets need AWS',
    minimal({}, { secrets: [{ name: 'PASSWORD', valueFrom: 'arn:aws:ssm:us-east-1:1:parameter/p' }] }),
    /containerDefinitions\[0\]\.secrets: not supported in local mode/,
  ],
  [
    'HEALTHY on a container without a health check',
    JSON.stringify({
      family: 'f',
      containerDefinitions: [
        { name: 'a', image: 'x', memory: 8, dependsOn: [{ containerName: 'b', condition: 'HEALTHY' }] },
        { name: 'b', image: 'x', memory: 8 },
      ],
    }),
    /containerDefinitions\[0\]\.dependsOn\[0\]\.condition: HEALTHY needs a healthCheck on container "b"/,
  ],
  [
    'port mappings with networkMode none',
    minimal({ networkMode: 'none' }, { portMappings: [{ containerPort: 80 }] }),
    /containerDefinitions\[0\]\.portMappings: port mappings cannot be used with networkMode "none"/,
  ],
];
for (const [name, text, expected] of semanticCases) {
  test(`semantic check: ${name}`, (t) => {
    t.regex(rejection(t, 'task.json', text), expected);
  });
}

test('a dependency cycle is accepted here: the containers loop stops such a task (fact sheet 4.5)', (t) => {
  const def = parseTaskDefinitionFile(
    'cycle.json',
    JSON.stringify({
      family: 'f',
      containerDefinitions: [
        { name: 'a', image: 'x', memory: 8, dependsOn: [{ containerName: 'b', condition: 'START' }] },
        { name: 'b', image: 'x', memory: 8, dependsOn: [{ containerName: 'a', condition: 'START' }] },
      ],
    }),
  );
  t.is(def.containerDefinitions.length, 2);
});

test('task cpu and memory in every RegisterTaskDefinition form', (t) => {
  const cpu: Array<[string | number, number]> = [
    ['1024', 1024],
    [512, 512],
    ['1 vCPU', 1024],
    ['0.5 vcpu', 512],
    ['.25 vCPU', 256],
    ['2vCPU', 2048],
  ];
  for (const [value, units] of cpu) t.is(parseTaskCpuUnits(value), units, String(value));
  const memory: Array<[string | number, number]> = [
    ['512', 512],
    [2048, 2048],
    ['1 GB', 1024],
    ['1GB', 1024],
    ['0.5 gb', 512],
  ];
  for (const [value, mib] of memory) t.is(parseTaskMemoryMiB(value), mib, String(value));
});

test('conversion: first-class fields, defaults and units', (t) => {
  const def = parseTaskDefinitionFile(
    'web.json',
    JSON.stringify({
      family: 'web',
      cpu: '1 vCPU',
      memory: '1 GB',
      pidMode: 'host',
      volumes: [
        { name: 'scratch' },
        { name: 'logs', host: { sourcePath: '/var/log/web' } },
        { name: 'cache', dockerVolumeConfiguration: { scope: 'shared', autoprovision: true, labels: { a: 'b' } } },
        { name: 'efs', efsVolumeConfiguration: { fileSystemId: 'fs-1' } },
      ],
      containerDefinitions: [
        {
          name: 'app',
          image: 'ecsd-test/busybox:latest',
          cpu: 256,
          memory: 128,
          command: ['httpd', '-f'],
          entryPoint: ['/bin/sh', '-c'],
          environment: [
            { name: 'A', value: '1' },
            { name: 'A', value: '2' },
            { name: 'B', value: 'x' },
          ],
          portMappings: [{ containerPort: 80 }, { containerPort: 53, hostPort: 5353, protocol: 'udp' }],
          mountPoints: [{ sourceVolume: 'logs', containerPath: '/logs' }],
          links: ['side:sidecar'],
          dependsOn: [{ containerName: 'side', condition: 'START' }],
          startTimeout: 30,
          stopTimeout: 10,
        },
        { name: 'side', image: 'ecsd-test/busybox:latest', essential: false, memoryReservation: 16 },
      ],
    }),
  );
  const spec = taskDefinitionToTaskSpec(def, IDS);
  t.like(spec, {
    arn: IDS.arn,
    version: '1',
    source: 'local',
    desiredStatus: 'RUNNING',
    networkMode: 'bridge',
    cpuVcpu: 1,
    memoryMiB: 1024,
    pidMode: 'host',
  });
  const [app, side] = spec.containers;
  t.like(app, {
    cpuUnits: 256,
    memoryMiB: 128,
    essential: true,
    environment: { A: '2', B: 'x' },
    command: ['httpd', '-f'],
    entryPoint: ['/bin/sh', '-c'],
    links: ['side:sidecar'],
    startTimeoutSec: 30,
    stopTimeoutSec: 10,
  });
  t.deepEqual(app!.portMappings, [
    { containerPort: 80, protocol: 'tcp' },
    { containerPort: 53, hostPort: 5353, protocol: 'udp' },
  ]);
  t.deepEqual(app!.mountPoints, [{ sourceVolume: 'logs', containerPath: '/logs', readOnly: false }]);
  t.deepEqual(app!.dependsOn, [{ containerName: 'side', condition: 'START' }]);
  t.deepEqual(app!.dockerConfig, {});
  t.is(app!.healthCheckType, undefined);
  t.like(side, { essential: false, cpuUnits: 0, memoryMiB: 0 });
  t.deepEqual(JSON.parse(side!.dockerConfig.hostConfig!), { MemoryReservation: 16 * 1024 * 1024 });
  t.deepEqual(spec.volumes, [
    { name: 'scratch', type: 'host' },
    { name: 'logs', type: 'host', sourcePath: '/var/log/web' },
    {
      name: 'cache',
      type: 'docker',
      scope: 'shared',
      autoprovision: true,
      driver: 'local',
      driverOpts: {},
      labels: { a: 'b' },
    },
    { name: 'efs', type: 'unsupported', originalType: 'efs' },
  ]);
});

test('host mode fills hostPort with the container port, as ACS payloads carry it', (t) => {
  const def = parseTaskDefinitionFile(
    'h.json',
    minimal({ networkMode: 'host' }, { portMappings: [{ containerPort: 8080 }] }),
  );
  t.deepEqual(taskDefinitionToTaskSpec(def, IDS).containers[0]!.portMappings, [
    { containerPort: 8080, hostPort: 8080, protocol: 'tcp' },
  ]);
});

test('conversion: Docker-only fields travel in the dockerConfig overlay with Docker API names and units', (t) => {
  const container = {
    name: 'app',
    image: 'ecsd-test/busybox:latest',
    memory: 128,
    memoryReservation: 64,
    user: 'nobody',
    workingDirectory: '/srv',
    hostname: 'web-1',
    dockerLabels: { team: 'a' },
    healthCheck: { command: ['CMD-SHELL', 'wget -q -O- http://127.0.0.1/ || exit 1'], interval: 10, startPeriod: 5 },
    pseudoTerminal: true,
    interactive: true,
    disableNetworking: false,
    ulimits: [{ name: 'nofile', softLimit: 1024, hardLimit: 4096 }],
    logConfiguration: { logDriver: 'json-file', options: { 'max-size': '1m' } },
    privileged: false,
    readonlyRootFilesystem: true,
    dnsServers: ['10.0.0.2'],
    dnsSearchDomains: ['corp.example'],
    extraHosts: [{ hostname: 'db', ipAddress: '10.0.0.5' }],
    dockerSecurityOptions: ['no-new-privileges'],
    systemControls: [{ namespace: 'net.core.somaxconn', value: '1024' }],
    linuxParameters: {
      capabilities: { add: ['NET_ADMIN'], drop: ['MKNOD'] },
      devices: [{ hostPath: '/dev/fuse', permissions: ['read', 'write'] }],
      initProcessEnabled: true,
      sharedMemorySize: 64,
      tmpfs: [{ containerPath: '/run', size: 16, mountOptions: ['noexec'] }],
      maxSwap: 256,
      swappiness: 10,
    },
  };
  const spec = taskDefinitionToTaskSpec(parseTaskDefinitionFile('o.json', minimal({}, container)), IDS);
  const app = spec.containers[0]!;
  t.is(app.healthCheckType, 'docker');
  t.deepEqual(JSON.parse(app.dockerConfig.config!), {
    User: 'nobody',
    WorkingDir: '/srv',
    Hostname: 'web-1',
    Labels: { team: 'a' },
    Healthcheck: {
      Test: ['CMD-SHELL', 'wget -q -O- http://127.0.0.1/ || exit 1'],
      Interval: 10_000_000_000,
      Timeout: 5_000_000_000,
      Retries: 3,
      StartPeriod: 5_000_000_000,
    },
    Tty: true,
    OpenStdin: true,
    NetworkDisabled: false,
  });
  const MiB = 1024 * 1024;
  t.deepEqual(JSON.parse(app.dockerConfig.hostConfig!), {
    MemoryReservation: 64 * MiB,
    Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }],
    LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
    Privileged: false,
    ReadonlyRootfs: true,
    Dns: ['10.0.0.2'],
    DnsSearch: ['corp.example'],
    ExtraHosts: ['db:10.0.0.5'],
    SecurityOpt: ['no-new-privileges'],
    Sysctls: { 'net.core.somaxconn': '1024' },
    CapAdd: ['NET_ADMIN'],
    CapDrop: ['MKNOD'],
    Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rw' }],
    Init: true,
    ShmSize: 64 * MiB,
    Tmpfs: { '/run': 'size=16m,noexec' },
    MemorySwap: (128 + 256) * MiB,
    MemorySwappiness: 10,
  });
});

test('the parsed definition keeps the file as written (a TaskDefinition, not a TaskSpec)', (t) => {
  const def: TaskDefinition = parseTaskDefinitionFile('w.json', minimal());
  t.deepEqual(def.containerDefinitions[0], { name: 'app', image: 'ecsd-test/busybox:latest', memory: 32 });
});
