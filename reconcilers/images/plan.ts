/**
 * The images loop's pure planner, per image reference: start one pull when a waiting container is not yet
 * served by a pull that ended after it began waiting (pull-policy.ts), and the behaviour wants a pull at all.
 * One reference has at most one pull at a time (single-flight): while one runs, every new waiter joins it.
 */
import type { RegistryAuthSpec } from '../../src/model/task.js';
import type { ImagePullRecord } from '../../src/store/records.js';
import type { PullDemander } from './demand.js';
import { fallsBackToLocal, outcomeSince, type PullSettings, pullRequired } from './pull-policy.js';

export const IMAGE_ACTION_KINDS = ['pull'] as const;

export interface PullAction {
  kind: 'pull';
  /** Normalised reference (the loop's key). */
  ref: string;
  /** The spelling a task used, as handed to the engine. */
  image: string;
  /**
   * Whether transient failures are worth retrying: not when the behaviour falls back to an image the engine
   * already has (default/prefer-cached) — the task goes on at once with that image instead of waiting out
   * five attempts for a registry it does not need (a local-only image, a registry that is down).
   */
  retry: boolean;
  /**
   * Whose credentials the pull uses: the first waiting container's task and `registryAuthentication`. One
   * pull serves every waiter of the reference (single-flight), so a second task naming other credentials
   * for the same image joins the pull made with the first one's, as it would join an earlier pull's result.
   * No secret here: registry ID, region, endpoint and role choice only (plans are logged and shown).
   */
  taskArn?: string;
  registryAuth?: RegistryAuthSpec;
  reason: string;
}

export interface ImagesDesired {
  ref: string;
  demanders: readonly PullDemander[];
}

export interface ImagesActual {
  pull: ImagePullRecord | undefined;
  present: boolean;
  /** A pull of this reference is running now (the loop's detached operation). */
  pulling: boolean;
}

export function planImagePull(
  desired: ImagesDesired | undefined,
  actual: ImagesActual,
  settings: PullSettings,
): { actions: PullAction[] } {
  const { behavior } = settings;
  if (desired === undefined || actual.pulling) return { actions: [] };
  const facts = { present: actual.present, pull: actual.pull };
  if (!pullRequired(behavior, facts)) return { actions: [] };
  const unserved = desired.demanders.filter((d) => outcomeSince(actual.pull, d.waitStartMs) === undefined);
  const first = unserved[0];
  if (first === undefined) return { actions: [] };
  const who =
    unserved.length > 1 ? `${unserved.length} containers` : `container ${first.container} of task ${first.taskArn}`;
  const reason =
    unserved.length === 1 && first.prepull === true
      ? `start-up pre-pull of ${first.image} (ECSD_PREPULL_IMAGES; ECS_IMAGE_PULL_BEHAVIOR=${behavior})`
      : `${who} wait for ${first.image} (ECS_IMAGE_PULL_BEHAVIOR=${behavior})`;
  return {
    actions: [
      {
        kind: 'pull',
        ref: desired.ref,
        image: first.image,
        retry: !(fallsBackToLocal(settings) && actual.present),
        ...(first.taskArn === '' ? {} : { taskArn: first.taskArn }),
        ...(first.registryAuth === undefined ? {} : { registryAuth: first.registryAuth }),
        reason,
      },
    ],
  };
}
