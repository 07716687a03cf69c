/** ARNs the simulated backend hands out, in the shapes ECS uses (fact sheet 1.4, 3.2). */
import { randomBytes } from 'node:crypto';

export interface ArnScope {
  region: string;
  accountId: string;
}

const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[^:]*:[^:]*:cluster\/(.+)$/;

export function clusterArn(scope: ArnScope, name: string): string {
  return `arn:aws:ecs:${scope.region}:${scope.accountId}:cluster/${name}`;
}

/** A cluster parameter is a name or a cluster ARN; ECS accepts both, and an empty one means `default`. */
export function clusterName(nameOrArn: string | undefined): string {
  if (nameOrArn === undefined || nameOrArn === '') return 'default';
  return CLUSTER_ARN.exec(nameOrArn)?.[1] ?? nameOrArn;
}

export function containerInstanceArn(scope: ArnScope, cluster: string): string {
  return `arn:aws:ecs:${scope.region}:${scope.accountId}:container-instance/${cluster}/${randomHex(16)}`;
}

export function taskArn(scope: ArnScope, cluster: string): string {
  return `arn:aws:ecs:${scope.region}:${scope.accountId}:task/${cluster}/${randomHex(16)}`;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
