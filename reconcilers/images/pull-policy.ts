/**
 * `ECS_IMAGE_PULL_BEHAVIOR` as one pure decision (fact sheet 7.1, 4.6), shared by the images loop (whether to
 * start a pull) and the containers planner (whether a container waits, goes on, or fails):
 *
 * | behaviour     | pull?                                        | a failed pull                              |
 * |---------------|----------------------------------------------|--------------------------------------------|
 * | default       | always                                       | go on with the local image; none: fail     |
 * | always        | always                                       | the task stops                             |
 * | once          | unless a pull of it succeeded and it is here | the task stops                             |
 * | prefer-cached | only when the image is not here              | as default                                 |
 *
 * With ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT and a behaviour other than `always`, a failed pull also falls
 * back to a local image, and without one only an essential container stops the task (fact sheet 7.1).
 *
 * A container waits for a pull that *ended after it began waiting* (`waitStartMs`, the task's
 * `pullStartedAtMs`): a pull already running when it began waiting counts (single-flight), one that ended
 * before does not — `always` means this start sees the registry, not an earlier task's answer.
 */
import type { ImagePullBehavior } from '../../src/config/types.js';
import type { ImagePullRecord } from '../../src/store/records.js';

export interface PullSettings {
  behavior: ImagePullBehavior;
  /** ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT: pull before dependsOn is met (fact sheet 4.5). */
  dependentContainersUpfront: boolean;
}

/** What is known of one image reference: whether the engine has it, and its pull record. */
export interface ImageFacts {
  present: boolean;
  pull: ImagePullRecord | undefined;
}

export type PullVerdict =
  /** Go on to create. `fallback`: a pull failed and the local image is used (default/prefer-cached). */
  | { kind: 'ready'; pulled: boolean; fallback?: string }
  /** A pull is needed or running; `waitingFor` is what `ecsd tasks` shows. */
  | { kind: 'wait'; waitingFor: string }
  /** The pull failed and nothing can stand in. `stopsTask`: always/once end the whole task (fact sheet 4.6). */
  | { kind: 'failed'; reason: string; stopsTask: boolean };

export function pullRequired(behavior: ImagePullBehavior, facts: ImageFacts): boolean {
  switch (behavior) {
    case 'prefer-cached':
      return !facts.present;
    case 'once':
      return !(facts.present && facts.pull?.lastSucceededAtMs !== undefined);
    case 'default':
    case 'always':
      return true;
  }
}

/** The pull that ended at or after `waitStartMs`, if the latest one did. */
export function outcomeSince(
  pull: ImagePullRecord | undefined,
  waitStartMs: number | undefined,
): ImagePullRecord | undefined {
  if (pull === undefined || waitStartMs === undefined || pull.state === 'pulling') return undefined;
  return pull.finishedAtMs !== undefined && pull.finishedAtMs >= waitStartMs ? pull : undefined;
}

/**
 * Whether a failure may fall back to the local image (fact sheet 4.6, 7.1): default and prefer-cached, and
 * with pulls upfront every behaviour but always.
 */
export function fallsBackToLocal(settings: PullSettings): boolean {
  const { behavior } = settings;
  if (settings.dependentContainersUpfront && behavior !== 'always') return true;
  return behavior === 'default' || behavior === 'prefer-cached';
}

/** The container being judged: its image as written, and whether it is essential. */
export interface PullSubject {
  image: string;
  essential: boolean;
}

export function pullVerdict(
  settings: PullSettings,
  subject: PullSubject,
  facts: ImageFacts,
  waitStartMs: number | undefined,
): PullVerdict {
  const { behavior } = settings;
  if (!pullRequired(behavior, facts)) return { kind: 'ready', pulled: false };
  const outcome = outcomeSince(facts.pull, waitStartMs);
  if (outcome === undefined) return { kind: 'wait', waitingFor: describePullWait(subject.image, facts.pull) };
  if (outcome.state === 'succeeded') return { kind: 'ready', pulled: true };
  const reason = outcome.reason ?? `CannotPullContainerError: pull of ${subject.image} failed`;
  const fallback = fallsBackToLocal(settings);
  if (fallback && facts.present) return { kind: 'ready', pulled: false, fallback: reason };
  if (behavior === 'always' || behavior === 'once') {
    // always stops the task whatever; once does too unless pulls go upfront, where only an essential does.
    return {
      kind: 'failed',
      reason,
      stopsTask: !settings.dependentContainersUpfront || behavior === 'always' || subject.essential,
    };
  }
  return { kind: 'failed', reason, stopsTask: settings.dependentContainersUpfront && subject.essential };
}

const MIB = 1024 * 1024;

/** `pulling 127.0.0.1:5000/app: 42 of 80 MiB`, or `waiting to pull …` before the pull has begun. */
export function describePullWait(image: string, pull: ImagePullRecord | undefined): string {
  if (pull === undefined || pull.state !== 'pulling') return `waiting to pull ${image}`;
  if (pull.totalBytes <= 0) return `pulling ${image}`;
  const of = (bytes: number): string => String(Math.round(bytes / MIB));
  return `pulling ${image}: ${of(pull.currentBytes)} of ${of(pull.totalBytes)} MiB`;
}

/** Whether a task's `waitingFor` is a pull's (not a host-resource wait, reconcilers/containers/admission.ts). */
export function isPullWait(waitingFor: string | undefined): boolean {
  return waitingFor !== undefined && (waitingFor.startsWith('pulling ') || waitingFor.startsWith('waiting to pull '));
}
