/**
 * The contract between the containers loop's pure planner, its action handlers and the loop wiring.
 * The planner sees one task: its desired record from the store and what Docker (via the shared view) and
 * the host showed; it returns actions, each with a human-readable reason, and never performs I/O.
 */
import type { ObservedContainer } from '../../src/docker/types.js';
import type {
  ContainerRecord,
  ImagePullRecord,
  TaskObservation,
  TaskRecord,
  VolumeRecord,
} from '../../src/store/records.js';
import type { PullSettings } from '../images/pull-policy.js';
import type { HostCapacity, LedgerTask } from './admission.js';

export interface ContainersPlanSettings {
  /** ECS_CONTAINER_STOP_TIMEOUT in seconds; a container's own stopTimeout wins when > 0. */
  defaultStopTimeoutSec: number;
  /** Whether task-level cpu/memory limits are applied through a task cgroup (ECS_ENABLE_TASK_CPU_MEM_LIMIT). */
  taskCgroupEnabled: boolean;
  /** The host's resources for admission (admission.ts); absent: no admission, every task starts at once. */
  hostCapacity?: HostCapacity;
  /**
   * ECS_IMAGE_PULL_BEHAVIOR and ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT, when the images loop pulls (the agent
   * always runs it). Absent: no pulls at all — the local image is used and a missing one fails the create.
   */
  pulls?: PullSettings;
}

export interface ContainersDesired {
  task: TaskRecord;
  containers: ContainerRecord[];
  /** Docker volumes already named for this task (task-scoped ones created by the agent). */
  volumes: VolumeRecord[];
  /**
   * Every task in the store, the ledger admission is decided from (plan-admission.ts); absent: no admission.
   * Read in the same moment as `task`, so the decision is deterministic from store state.
   */
  ledgerTasks?: readonly LedgerTask[];
}

export interface ContainersActual {
  /** Containers of this task found in Docker, keyed by ECS container name (from the labels). */
  containers: ReadonlyMap<string, ObservedContainer>;
  /** Containers whose stop is running now (a detached operation): no second stop is planned for them. */
  stopsInFlight?: ReadonlySet<string>;
  /** False until the shared Docker view has listed once; nothing may be declared vanished before that. */
  viewSynced: boolean;
  /** Image references (as written in the task) present in the local engine. */
  imagesPresent: ReadonlySet<string>;
  /** Pull records of the task's images, by normalised reference (only when `settings.pulls` is set). */
  pulls?: ReadonlyMap<string, ImagePullRecord>;
  /** Volume spec names whose Docker volume exists. */
  volumesPresent: ReadonlySet<string>;
  /** Whether the task cgroup (/ecs/<taskId>) exists with its limits applied. */
  taskCgroupReady: boolean;
  nowMs: number;
}

/** The plan-graph fields (reconcilers/runtime/action-graph.ts), set by the planner's last step (plan.ts). */
interface GraphFields {
  id?: string;
  after?: readonly string[];
}

export type ContainerAction = GraphFields &
  /** Write status changes / reasons / outbox entries to the store (always applied first). */
  (
    | { kind: 'record'; observation: TaskObservation; reason: string }
    | { kind: 'setup-task-cgroup'; reason: string }
    | { kind: 'create-volume'; volume: string; reason: string }
    /** `startFollows`: the same plan starts the container next, whose own inspect then shows it to the view. */
    | { kind: 'create'; container: string; reason: string; startFollows?: boolean }
    | { kind: 'start'; container: string; reason: string }
    | { kind: 'stop'; container: string; graceSec: number; reason: string }
    /** Inspect again now, so the next plan sees a fresh observation (plan-late-oom.ts). */
    | { kind: 'inspect'; container: string; dockerId: string; reason: string }
  );

export interface ContainersPlan {
  actions: ContainerAction[];
  /** Re-plan this task after this many ms even if nothing changes (e.g. a startTimeout will expire). */
  requeueAfterMs?: number;
}
