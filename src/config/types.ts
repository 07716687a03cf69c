/**
 * The compiled configuration every part receives. Field names carry their unit (`…Ms`, `…MiB`); the env
 * var each field comes from is the property whose `x-field` names it in `schemas/config.schema.json`,
 * which holds the defaults and limits (this file only describes the shapes).
 */
import type { LogLevel } from '../model/log-level.js';

export type ConfigSource = 'env' | 'file' | 'flag' | 'default';

/** Command-line flags that override the environment (parsed from argv by src/cli). */
export interface ConfigFlags {
  /** `-k`: do not verify TLS certificates of AWS endpoints. */
  acceptInsecureCert?: boolean;
  /** `-loglevel`: both outputs (wins over the two below, as upstream). */
  logLevel?: string;
  /** `-loglevel-driver`: stdout only. */
  logLevelDriver?: string;
  /** `-loglevel-on-instance`: file only. */
  logLevelOnInstance?: string;
  /** `--tasks-dir` (over ECSD_TASKS_DIR). */
  tasksDir?: string;
  /** `--config-file` (over ECSD_CONFIG_FILE). */
  configFilePath?: string;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface PortRange {
  startPort: number;
  endPort: number;
}

export type LogRolloverType = 'size' | 'hourly' | 'none';
export type LogOutputFormat = 'logfmt' | 'json';
export type ImagePullBehavior = 'default' | 'always' | 'once' | 'prefer-cached';

export interface AgentConfig {
  // Identity and endpoints
  cluster: string;
  awsRegion?: string;
  backendHost?: string;
  awsAccessKeyId?: string;
  awsSecretAccessKey?: string;
  awsSessionToken?: string;
  alternateCredentialProfile: string;
  external: boolean;
  acceptInsecureCert: boolean;
  httpProxy?: string;
  noProxy?: string;
  dockerHost: string;

  // State
  dataDir: string;
  /** ECS_DATADIR was given (environment or file), which turns checkpointing on by default. */
  dataDirSet: boolean;
  checkpoint: boolean;
  hostDataDir: string;
  updatesEnabled: boolean;
  updateDownloadDir?: string;
  agentConfigFilePath?: string;

  // Logging (fact sheet 11)
  logLevel: LogLevel;
  logLevelOnInstance: LogLevel;
  logFile?: string;
  logRolloverType: LogRolloverType;
  logMaxFileSizeMB: number;
  logMaxRollCount: number;
  logOutputFormat: LogOutputFormat;
  logDriver?: string;
  logOpts: Record<string, string>;
  auditLogFile: string;
  auditLogFileDisabled: boolean;

  // Container timeouts (fact sheet 4.9)
  containerStopTimeoutMs: number;
  containerStartTimeoutMs: number;
  containerCreateTimeoutMs: number;
  imagePullTimeoutMs: number;
  imagePullInactivityTimeoutMs: number;
  manifestPullTimeoutMs: number;

  // Ports and resources (fact sheet 9)
  /** Unset: the agent reads /proc/sys/net/ipv4/ip_local_port_range. */
  dynamicHostPortRange?: PortRange;
  reservedPorts: number[];
  reservedPortsUdp: number[];
  reservedMemoryMiB: number;
  enableTaskCpuMemLimit: boolean;
  /** ECS_ENABLE_TASK_CPU_MEM_LIMIT was set, so failing to create the cgroup root is fatal. */
  enableTaskCpuMemLimitExplicit: boolean;
  cgroupPath: string;
  cgroupCpuPeriodMs: number;
  taskPidsLimit?: number;
  enableGpuSupport: boolean;
  nvidiaRuntime: string;

  // Images (fact sheet 7)
  imagePullBehavior: ImagePullBehavior;
  pullDependentContainersUpfront: boolean;
  engineAuthType?: 'docker' | 'dockercfg';
  /** Secret. */
  engineAuthData?: string;
  disableImageCleanup: boolean;
  imageCleanupIntervalMs: number;
  imageMinimumCleanupAgeMs: number;
  nonEcsImageMinimumCleanupAgeMs: number;
  numImagesDeletePerCycle: number;
  numNonEcsContainersDeletePerCycle: number;
  enableUntrackedImageCleanup: boolean;
  excludeUntrackedImages: string[];

  // Task cleanup (fact sheet 8)
  engineTaskCleanupWaitDurationMs: number;
  engineTaskCleanupWaitDurationJitterMs: number;

  // Registration
  instanceAttributes: Record<string, string>;
  containerInstanceTags: Record<string, string>;
  containerInstancePropagateTagsFrom: 'none' | 'ec2_instance';
  availableLoggingDrivers: string[];
  volumePluginCapabilities: string[];
  disablePrivileged: boolean;
  selinuxCapable: boolean;
  apparmorCapable: boolean;
  detailedOsFamily?: string;
  instanceIpCompatibility?: 'ipv4' | 'ipv6';
  enableSpotInstanceDraining: boolean;
  warmPoolsCheck: boolean;
  ebstaSupported: boolean;
  fsxWindowsFileServerSupported: boolean;
  gmsaSupported: boolean;
  credentialsFetcherHost: string;
  credentialsFetcherSecretNameForDomainlessGmsa?: string;
  enableCpuUnboundedWindowsWorkaround: boolean;
  enableMemoryUnboundedWindowsWorkaround: boolean;

  // Task features
  enableTaskIamRole: boolean;
  enableTaskIamRoleNetworkHost: boolean;
  enableContainerMetadata: boolean;
  sharedVolumeMatchFullConfig: boolean;
  disableDockerHealthCheck: boolean;
  enableAwslogsExecutionRoleOverride: boolean;
  enableFirelensAsync: boolean;
  excludeIpv6PortBinding: boolean;

  // awsvpc (fact sheet 12)
  enableTaskEni: boolean;
  enableHighDensityEni: boolean;
  cniPluginsPath: string;
  awsvpcBlockImds: boolean;
  awsvpcAdditionalLocalRoutes: string[];

  // Metrics and local endpoints (fact sheet 5)
  disableMetrics: boolean;
  pollMetrics: boolean;
  pollingMetricsWaitDurationMs: number;
  enablePrometheusMetrics: boolean;
  enableRuntimeStats: boolean;
  disableTaskMetadataAz: boolean;
  taskMetadataRpsLimit: { steady: number; burst: number };
  agentHealthcheckHost: string;

  // ecs-init only (accepted so an ecs.config shared with ecs-init loads cleanly)
  skipLocalhostTrafficFilter: boolean;
  allowOffhostIntrospectionAccess: boolean;
  offhostIntrospectionInterfaceName: string;
  agentLabels: Record<string, string>;
  agentApparmorProfile: string;

  // ecsd's own (ECSD_*)
  configFilePath: string;
  tasksDir?: string;
  metricsAddress: HostPort;
  introspectionAddress: HostPort;
  taskMetadataAddress: HostPort;
  pollIntervalMs: number;
  resyncIntervalMs: number;
  maxConcurrentReconciles: number;
  /** ECSD_ALLOW_SENSITIVE_HOST_MOUNTS: bind mounts of `/` and of the data directory are allowed (src/model/task-policy.ts). */
  allowSensitiveHostMounts: boolean;
  maxConcurrentDockerMutations: number;
  /** ECSD_IMAGE_GC_HIGH_PERCENT: disk use (%) of the Docker data root that starts a disk-pressure image cleanup. */
  imageGcHighPercent: number;
  /** ECSD_IMAGE_GC_LOW_PERCENT: disk use (%) a disk-pressure cleanup brings the data root down to; below high. */
  imageGcLowPercent: number;
  /** ECSD_PINNED_IMAGES: image references image cleanup never removes. */
  pinnedImages: string[];
  /** ECSD_PREPULL_IMAGES: image references pulled at start-up and kept (never removed by cleanup). */
  prepullImages: string[];
}

export interface LoadedConfig {
  /** Deep-frozen. */
  config: AgentConfig;
  /** Where each variable's effective value came from, keyed by env var name (`-k` for the flag-only setting). */
  sources: Record<string, ConfigSource>;
  /** Clamped values and unknown ECS_* variables, one line each; log each once as a warning. */
  warnings: string[];
}
