/**
 * The Docker Engine API `Config` and `HostConfig` fields (moby `api/types/container`, API 1.41+) with the
 * JSON kind Go decodes each into. The upstream agent decodes the `dockerConfig` strings with
 * `json.Unmarshal` into those Go structs (fact sheet 3.5), which (1) matches keys case-insensitively,
 * (2) drops keys that are not fields, (3) merges objects into existing structs/maps and replaces slices,
 * and (4) fails on a value of the wrong JSON type. This table is what lets docker-config-overlay.ts do
 * the same four things without Go.
 */

export type ScalarKind = 'int' | 'string' | 'bool';

export type FieldKind =
  | ScalarKind
  /** []string */
  | 'strings'
  /** strslice.StrSlice: a list of strings, or one string meaning a one-element list. */
  | 'strslice'
  /** Anything Go decodes without us needing to look inside (kept as given). */
  | 'any'
  /** map[string]V: keys are exact (not case-folded); merged key by key into an existing map. */
  | { map: FieldKind }
  /** A struct: merged field by field into an existing one. */
  | { struct: FieldTable }
  /** []struct: replaced; each element's keys are matched like a struct's. */
  | { list: FieldTable };

export type FieldTable = Readonly<Record<string, FieldKind>>;

const healthConfig: FieldTable = {
  Test: 'strings',
  Interval: 'int',
  Timeout: 'int',
  StartPeriod: 'int',
  StartInterval: 'int',
  Retries: 'int',
};

/** `Config` (the top level of the create body, minus HostConfig/NetworkingConfig). */
export const DOCKER_CONFIG_FIELDS: FieldTable = {
  Hostname: 'string',
  Domainname: 'string',
  User: 'string',
  AttachStdin: 'bool',
  AttachStdout: 'bool',
  AttachStderr: 'bool',
  ExposedPorts: { map: 'any' },
  Tty: 'bool',
  OpenStdin: 'bool',
  StdinOnce: 'bool',
  Env: 'strings',
  Cmd: 'strslice',
  Healthcheck: { struct: healthConfig },
  ArgsEscaped: 'bool',
  Image: 'string',
  Volumes: { map: 'any' },
  WorkingDir: 'string',
  Entrypoint: 'strslice',
  NetworkDisabled: 'bool',
  MacAddress: 'string',
  OnBuild: 'strings',
  Labels: { map: 'string' },
  StopSignal: 'string',
  StopTimeout: 'int',
  Shell: 'strslice',
};

const throttleDevice: FieldTable = { Path: 'string', Rate: 'int' };

/** `HostConfig`, including the embedded `Resources` fields (flat in JSON). */
export const DOCKER_HOST_CONFIG_FIELDS: FieldTable = {
  Binds: 'strings',
  ContainerIDFile: 'string',
  LogConfig: { struct: { Type: 'string', Config: { map: 'string' } } },
  NetworkMode: 'string',
  PortBindings: { map: 'any' },
  RestartPolicy: { struct: { Name: 'string', MaximumRetryCount: 'int' } },
  AutoRemove: 'bool',
  VolumeDriver: 'string',
  VolumesFrom: 'strings',
  ConsoleSize: 'any',
  Annotations: { map: 'string' },
  CapAdd: 'strslice',
  CapDrop: 'strslice',
  CgroupnsMode: 'string',
  Dns: 'strings',
  DnsOptions: 'strings',
  DnsSearch: 'strings',
  ExtraHosts: 'strings',
  GroupAdd: 'strings',
  IpcMode: 'string',
  Cgroup: 'string',
  Links: 'strings',
  OomScoreAdj: 'int',
  PidMode: 'string',
  Privileged: 'bool',
  PublishAllPorts: 'bool',
  ReadonlyRootfs: 'bool',
  SecurityOpt: 'strings',
  StorageOpt: { map: 'string' },
  Tmpfs: { map: 'string' },
  UTSMode: 'string',
  UsernsMode: 'string',
  ShmSize: 'int',
  Sysctls: { map: 'string' },
  Runtime: 'string',
  Isolation: 'string',
  MaskedPaths: 'strings',
  ReadonlyPaths: 'strings',
  Init: 'bool',
  Mounts: {
    list: {
      Type: 'string',
      Source: 'string',
      Target: 'string',
      ReadOnly: 'bool',
      Consistency: 'string',
      BindOptions: 'any',
      VolumeOptions: 'any',
      TmpfsOptions: 'any',
    },
  },
  // Resources
  CpuShares: 'int',
  Memory: 'int',
  NanoCpus: 'int',
  CgroupParent: 'string',
  BlkioWeight: 'int',
  BlkioWeightDevice: { list: { Path: 'string', Weight: 'int' } },
  BlkioDeviceReadBps: { list: throttleDevice },
  BlkioDeviceWriteBps: { list: throttleDevice },
  BlkioDeviceReadIOps: { list: throttleDevice },
  BlkioDeviceWriteIOps: { list: throttleDevice },
  CpuPeriod: 'int',
  CpuQuota: 'int',
  CpuRealtimePeriod: 'int',
  CpuRealtimeRuntime: 'int',
  CpusetCpus: 'string',
  CpusetMems: 'string',
  Devices: { list: { PathOnHost: 'string', PathInContainer: 'string', CgroupPermissions: 'string' } },
  DeviceCgroupRules: 'strings',
  DeviceRequests: 'any',
  KernelMemory: 'int',
  KernelMemoryTCP: 'int',
  MemoryReservation: 'int',
  MemorySwap: 'int',
  MemorySwappiness: 'int',
  OomKillDisable: 'bool',
  PidsLimit: 'int',
  Ulimits: { list: { Name: 'string', Hard: 'int', Soft: 'int' } },
  CpuCount: 'int',
  CpuPercent: 'int',
  IOMaximumIOps: 'int',
  IOMaximumBandwidth: 'int',
};
