/**
 * The ECS operations the agent calls (fact sheet 1.2–1.8), answered from the simulator's state. Handlers
 * validate what they read and throw `AwsJsonError` for anything a real endpoint would refuse.
 */
import { type ArnScope, clusterArn, clusterName, containerInstanceArn } from './arns.js';
import { clientError } from './aws-json.js';
import {
  isObject,
  type JsonObject,
  objectItems,
  oneOf,
  optionalArray,
  optionalNumber,
  optionalString,
  requiredString,
} from './body-checks.js';
import type { SimSettings } from './options.js';
import type { Attribute, RegisteredInstance, TaskStateChange } from './records.js';
import type { SimState } from './state.js';

export interface ApiContext {
  state: SimState;
  settings: SimSettings;
  /** `http://127.0.0.1:<port>` — the simulator's own base URL, without a trailing slash. */
  baseUrl: () => string;
  nowMs: () => number;
}

export type OperationHandler = (body: JsonObject, ctx: ApiContext) => unknown;

/** Statuses a task change may carry: every other task status travels as PENDING (fact sheet 1.6). */
const REPORTED_STATUSES = ['PENDING', 'RUNNING', 'STOPPED'] as const;
const ATTACHMENT_STATUSES = ['ATTACHED', 'DETACHED'] as const;
const INSTANCE_ARN = /^arn:aws[a-z-]*:ecs:([^:]+):([^:]+):container-instance\/([^/]+)\/([0-9a-f]{32}|[A-Za-z0-9-]+)$/;

function existingCluster(ctx: ApiContext, nameOrArn: string | undefined): string {
  const name = clusterName(nameOrArn);
  if (!ctx.state.clusters.has(name)) throw clientError('ClusterNotFoundException', 'Cluster not found.');
  return name;
}

function scope(ctx: ApiContext): ArnScope {
  return { region: ctx.settings.region, accountId: ctx.settings.accountId };
}

function attributesOf(body: JsonObject): Attribute[] {
  return objectItems(body, 'attributes').map((item, index) => {
    const name = item['name'];
    const value = item['value'];
    if (typeof name !== 'string' || name === '') {
      throw clientError('InvalidParameterException', `attributes[${index}].name is required`);
    }
    if (value !== undefined && typeof value !== 'string') {
      throw clientError('InvalidParameterException', `attributes[${index}].value must be a string`);
    }
    return value === undefined ? { name } : { name, value };
  });
}

/** Later attributes replace earlier ones of the same name, as ECS's PutAttributes does. */
function mergeAttributes(previous: readonly Attribute[], next: readonly Attribute[]): Attribute[] {
  const byName = new Map(previous.map((a) => [a.name, a]));
  for (const attribute of next) byName.set(attribute.name, attribute);
  return [...byName.values()];
}

const discoverPollEndpoint: OperationHandler = (body, ctx) => {
  const cluster = optionalString(body, 'cluster');
  if (cluster !== undefined) existingCluster(ctx, cluster);
  optionalString(body, 'containerInstance');
  const base = ctx.baseUrl();
  // ACS is `<endpoint>ws` (fact sheet 2.1); telemetry and service connect are not served, only named.
  return {
    endpoint: `${base}/`,
    telemetryEndpoint: `${base}/tcs/`,
    serviceConnectEndpoint: `${base}/service-connect/`,
  };
};

const registerContainerInstance: OperationHandler = (body, ctx) => {
  const cluster = existingCluster(ctx, optionalString(body, 'cluster'));
  const totalResources = optionalArray(body, 'totalResources') ?? [];
  const attributes = attributesOf(body);
  const tags = optionalArray(body, 'tags') ?? [];
  const versionInfo = isObject(body['versionInfo']) ? body['versionInfo'] : {};
  const requestedArn = optionalString(body, 'containerInstanceArn');
  const now = ctx.nowMs();

  let instance: RegisteredInstance;
  if (requestedArn !== undefined && requestedArn !== '') {
    const known = ctx.state.instances.get(requestedArn);
    const parsed = INSTANCE_ARN.exec(requestedArn);
    // A saved ARN of this account, region and cluster is taken back even if this simulator never issued it,
    // so a test may restart the backend under an agent that keeps its data directory.
    if (known === undefined && (parsed === null || parsed[1] !== ctx.settings.region || parsed[3] !== cluster)) {
      throw clientError(
        'InvalidParameterException',
        `containerInstanceArn ${requestedArn} is not an instance of cluster ${cluster}`,
      );
    }
    if (known !== undefined && known.cluster !== cluster) {
      throw clientError(
        'InvalidParameterException',
        `container instance ${requestedArn} belongs to cluster ${known.cluster}`,
      );
    }
    instance = {
      arn: requestedArn,
      cluster,
      attributes: mergeAttributes(known?.attributes ?? [], attributes),
      totalResources,
      versionInfo,
      tags: tags.length > 0 ? tags : (known?.tags ?? []),
      registeredAtMs: known?.registeredAtMs ?? now,
      registrations: (known?.registrations ?? 0) + 1,
      active: true,
    };
  } else {
    instance = {
      arn: containerInstanceArn(scope(ctx), cluster),
      cluster,
      attributes,
      totalResources,
      versionInfo,
      tags,
      registeredAtMs: now,
      registrations: 1,
      active: true,
    };
  }
  ctx.state.instances.set(instance.arn, instance);
  ctx.state.changed();
  return {
    containerInstance: {
      containerInstanceArn: instance.arn,
      status: 'ACTIVE',
      agentConnected: false,
      versionInfo: instance.versionInfo,
      registeredResources: instance.totalResources,
      remainingResources: instance.totalResources,
      // The agent reads the zone from here and checks its own attributes come back unchanged (fact sheet 1.4).
      attributes: [
        ...instance.attributes.filter((a) => a.name !== 'ecs.availability-zone'),
        { name: 'ecs.availability-zone', value: ctx.settings.availabilityZone },
      ],
      tags: instance.tags,
      registeredAt: instance.registeredAtMs / 1000,
      runningTasksCount: 0,
      pendingTasksCount: 0,
    },
  };
};

const createCluster: OperationHandler = (body, ctx) => {
  const name = optionalString(body, 'clusterName') || 'default';
  ctx.state.clusters.add(name);
  ctx.state.changed();
  return { cluster: { clusterArn: clusterArn(scope(ctx), name), clusterName: name, status: 'ACTIVE' } };
};

const submitTaskStateChange: OperationHandler = (body, ctx) => {
  existingCluster(ctx, optionalString(body, 'cluster'));
  requiredString(body, 'task');
  const status = optionalString(body, 'status');
  oneOf(status, 'status', REPORTED_STATUSES);
  const attachments = objectItems(body, 'attachments');
  if (status === undefined && attachments.length === 0) {
    throw clientError('InvalidParameterException', 'status is required unless attachments are reported');
  }
  objectItems(body, 'containers').forEach((container, index) => {
    requiredString(container, 'containerName');
    oneOf(requiredString(container, 'status'), `containers[${index}].status`, REPORTED_STATUSES);
    optionalNumber(container, 'exitCode');
  });
  attachments.forEach((attachment, index) => {
    requiredString(attachment, 'attachmentArn');
    oneOf(requiredString(attachment, 'status'), `attachments[${index}].status`, ATTACHMENT_STATUSES);
  });
  for (const field of ['pullStartedAt', 'pullStoppedAt', 'executionStoppedAt']) optionalNumber(body, field);
  ctx.state.recordTaskChange(structuredClone(body) as TaskStateChange);
  return { acknowledgment: 'ACK' };
};

const submitAttachmentStateChanges: OperationHandler = (body, ctx) => {
  existingCluster(ctx, optionalString(body, 'cluster'));
  const attachments = objectItems(body, 'attachments');
  if (attachments.length === 0) throw clientError('InvalidParameterException', 'attachments is required');
  attachments.forEach((attachment, index) => {
    requiredString(attachment, 'attachmentArn');
    oneOf(requiredString(attachment, 'status'), `attachments[${index}].status`, ATTACHMENT_STATUSES);
  });
  return { acknowledgment: 'ACK' };
};

export const ECS_OPERATIONS: Readonly<Record<string, OperationHandler>> = Object.freeze({
  DiscoverPollEndpoint: discoverPollEndpoint,
  RegisterContainerInstance: registerContainerInstance,
  CreateCluster: createCluster,
  SubmitTaskStateChange: submitTaskStateChange,
  SubmitAttachmentStateChanges: submitAttachmentStateChanges,
});

/** ECR's GetAuthorizationToken (fact sheet 7.2): a base64 `user:password` token per registry asked for. */
const getAuthorizationToken: OperationHandler = (body, ctx) => {
  const registryIds = (optionalArray(body, 'registryIds') ?? []).map((id, index) => {
    if (typeof id !== 'string' || id === '') {
      throw clientError('InvalidParameterException', `registryIds[${index}] must be a non-empty string`);
    }
    return id;
  });
  const ecr = ctx.settings.ecr;
  const expiresAt = (ctx.nowMs() + ecr.tokenTtlMs) / 1000;
  const ids = registryIds.length > 0 ? registryIds : [ctx.settings.accountId];
  return {
    authorizationData: ids.map((id) => {
      const registries = ecr.registries;
      const registry = registries === undefined ? {} : Object.hasOwn(registries, id) ? registries[id] : undefined;
      if (registry === undefined) {
        throw clientError(
          'AccessDeniedException',
          `User is not authorized to perform: ecr:GetAuthorizationToken on registry ${id}`,
        );
      }
      const token = Buffer.from(`${registry.username ?? ecr.username}:${registry.password ?? ecr.password}`).toString(
        'base64',
      );
      return { authorizationToken: token, expiresAt, proxyEndpoint: registry.proxyEndpoint ?? ecr.proxyEndpoint };
    }),
  };
};

export const ECR_OPERATIONS: Readonly<Record<string, OperationHandler>> = Object.freeze({
  GetAuthorizationToken: getAuthorizationToken,
});
