// Image cleanup selection (fact sheet 7.4 plus ecsd's pinning and disk pressure): which deletions one cycle
// plans, in which order, and why. Pure: every case is data in, deletions out.
import test from 'ava';
import {
  type ImageCleanupConfig,
  type ImageCleanupInput,
  planImageCleanup,
  type TrackedImage,
  type UntrackedContainer,
  type UntrackedImage,
} from '../reconcilers/images/plan-cleanup.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const MiB = 1024 * 1024;

const CONFIG: ImageCleanupConfig = {
  imageMinimumCleanupAgeMs: HOUR,
  nonEcsImageMinimumCleanupAgeMs: HOUR,
  numImagesDeletePerCycle: 5,
  numNonEcsContainersDeletePerCycle: 5,
  nonEcsContainerCleanupWaitMs: 3 * HOUR,
  enableUntrackedImageCleanup: false,
  imageGcHighPercent: 85,
  imageGcLowPercent: 80,
};

/** A tracked image pulled 2 h ago, last used `lastUsedHoursAgo` ago, unreferenced. */
function tracked(name: string, lastUsedHoursAgo: number, overrides: Partial<TrackedImage> = {}): TrackedImage {
  return {
    imageId: `sha256:${name}`,
    names: [`registry.example/${name}:1`],
    sizeBytes: 100 * MiB,
    pulledAtMs: NOW - 2 * HOUR,
    lastUsedAtMs: NOW - lastUsedHoursAgo * HOUR,
    pullSucceeded: true,
    referencingTaskArns: [],
    pullInFlight: false,
    ...overrides,
  };
}

function untracked(name: string, sizeMiB: number, overrides: Partial<UntrackedImage> = {}): UntrackedImage {
  return {
    imageId: `sha256:u-${name}`,
    repoTags: [`${name}:latest`],
    sizeBytes: sizeMiB * MiB,
    createdAtMs: NOW - 24 * HOUR,
    inUse: false,
    ...overrides,
  };
}

function input(
  overrides: Omit<Partial<ImageCleanupInput>, 'config'> & { config?: Partial<ImageCleanupConfig> } = {},
): ImageCleanupInput {
  const { config, ...rest } = overrides;
  return {
    tracked: [],
    untrackedImages: [],
    untrackedContainers: [],
    excluded: [],
    pinned: [],
    prepull: [],
    trigger: 'interval' as const,
    nowMs: NOW,
    ...rest,
    config: { ...CONFIG, ...config },
  };
}

/** `imageId:step` per deletion, the shape most cases compare. */
function picked(plan: ReturnType<typeof planImageCleanup>): string[] {
  return plan.deletions.map((d) =>
    d.kind === 'remove-image' ? `${d.imageId}:${d.step}` : `container ${d.containerId}`,
  );
}

const cases: Array<{ title: string; in: ImageCleanupInput; out: string[] }> = [
  {
    title: 'least recently used first, at most ECS_NUM_IMAGES_DELETE_PER_CYCLE',
    in: input({
      tracked: [tracked('b', 5), tracked('a', 9), tracked('d', 1), tracked('c', 7)],
      config: { numImagesDeletePerCycle: 2 },
    }),
    out: ['sha256:a:tracked', 'sha256:c:tracked'],
  },
  {
    title: 'age from PulledAt, strictly more than ECS_IMAGE_MINIMUM_CLEANUP_AGE',
    in: input({
      tracked: [
        tracked('exactly', 9, { pulledAtMs: NOW - HOUR }),
        tracked('older', 8, { pulledAtMs: NOW - HOUR - 1 }),
        // Last used long ago but pulled again just now: too young.
        tracked('repulled', 20, { pulledAtMs: NOW - MIN }),
      ],
    }),
    out: ['sha256:older:tracked'],
  },
  {
    title: 'an image referenced by a task not yet cleaned up, or with a pull in flight, is never chosen',
    in: input({
      tracked: [
        tracked('in-use', 9, { referencingTaskArns: ['arn:task/1'] }),
        tracked('pulling', 8, { pullInFlight: true }),
        tracked('free', 1),
      ],
    }),
    out: ['sha256:free:tracked'],
  },
  {
    title: 'excluded, pinned and pre-pulled names are kept, compared as Docker resolves them',
    in: input({
      tracked: [
        tracked('excluded', 9, { names: ['docker.io/amazon/amazon-ecs-agent:latest'] }),
        tracked('pinned', 8, { names: ['docker.io/library/busybox:latest', 'other:tag'] }),
        tracked('prepull', 7, { names: ['registry.example/warm:2'] }),
        tracked('free', 1),
      ],
      excluded: ['amazon/amazon-ecs-agent:latest'],
      pinned: ['busybox'],
      prepull: ['registry.example/warm:2'],
    }),
    out: ['sha256:free:tracked'],
  },
  {
    title: 'untracked images are left alone unless ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP',
    in: input({ untrackedImages: [untracked('x', 1)], untrackedContainers: [] }),
    out: [],
  },
  {
    title: 'untracked: containers first, then images smallest first, budget = per cycle less tracked removals',
    in: input({
      tracked: [tracked('t1', 9), tracked('t2', 8)],
      untrackedImages: [untracked('big', 500), untracked('small', 5), untracked('mid', 50), untracked('mid2', 60)],
      untrackedContainers: [
        { id: 'c-old', name: 'old', status: 'exited', finishedAtMs: NOW - 10 * HOUR },
        { id: 'c-running', name: 'running', status: 'running', finishedAtMs: NOW - 10 * HOUR },
        { id: 'c-recent', name: 'recent', status: 'exited', finishedAtMs: NOW - 2 * HOUR },
        { id: 'c-created', name: 'created', status: 'created', finishedAtMs: Date.parse('0001-01-01T00:00:00Z') },
      ],
      config: { enableUntrackedImageCleanup: true, numImagesDeletePerCycle: 5 },
    }),
    out: [
      'sha256:t1:tracked',
      'sha256:t2:tracked',
      'container c-created',
      'container c-old',
      'sha256:u-small:untracked',
      'sha256:u-mid:untracked',
      'sha256:u-mid2:untracked',
    ],
  },
  {
    title: 'untracked: all tracked removals used the budget, so no untracked image (upstream would take one)',
    in: input({
      tracked: [tracked('t1', 9), tracked('t2', 8)],
      untrackedImages: [untracked('small', 5)],
      config: { enableUntrackedImageCleanup: true, numImagesDeletePerCycle: 2 },
    }),
    out: ['sha256:t1:tracked', 'sha256:t2:tracked'],
  },
  {
    title: 'untracked: in use, excluded, too young and tracked IDs are skipped',
    in: input({
      tracked: [tracked('t1', 0, { referencingTaskArns: ['arn:task/1'] })],
      untrackedImages: [
        untracked('used', 1, { inUse: true }),
        untracked('kept', 2, { repoTags: ['kept:latest', 'pause:3.1'] }),
        untracked('young', 3, { createdAtMs: NOW - HOUR }),
        untracked('same-as-tracked', 4, { imageId: 'sha256:t1' }),
        untracked('ok', 5),
      ],
      excluded: ['pause:3.1'],
      config: { enableUntrackedImageCleanup: true },
    }),
    out: ['sha256:u-ok:untracked'],
  },
  {
    title: 'untracked containers: at most NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE, oldest finished first',
    in: input({
      untrackedContainers: ['a', 'b', 'c'].map(
        (id, index): UntrackedContainer => ({
          id,
          name: id,
          status: 'dead',
          finishedAtMs: NOW - (10 - index) * HOUR,
        }),
      ),
      config: { enableUntrackedImageCleanup: true, numNonEcsContainersDeletePerCycle: 2 },
    }),
    out: ['container a', 'container b'],
  },
];

for (const c of cases) {
  test(c.title, (t) => {
    t.deepEqual(picked(planImageCleanup(c.in)), c.out);
  });
}

test('a tracked image is untagged name by name, or removed by ID when it has no name; the reason says why', (t) => {
  const plan = planImageCleanup(
    input({
      tracked: [
        tracked('named', 9, { names: ['registry.example/a:1', 'registry.example/a:latest'] }),
        tracked('nameless', 8, { names: [] }),
      ],
    }),
  );
  t.like(plan.deletions, [
    { kind: 'remove-image', refs: ['registry.example/a:1', 'registry.example/a:latest'], tracked: true },
    { kind: 'remove-image', refs: ['sha256:nameless'], tracked: true },
  ]);
  t.regex(
    plan.deletions[0]!.reason,
    /^least recently used image registry\.example\/a:1 \(last used 9h00m ago\), unused, pulled 2h00m ago, more than ECS_IMAGE_MINIMUM_CLEANUP_AGE \(1h00m\)$/,
  );
});

test('an untracked image with several tags is untagged tag by tag, each tag counting against the budget', (t) => {
  const plan = planImageCleanup(
    input({
      untrackedImages: [untracked('multi', 1, { repoTags: ['m:1', 'm:2', 'm:3'] }), untracked('next', 2)],
      config: { enableUntrackedImageCleanup: true, numImagesDeletePerCycle: 3 },
    }),
  );
  t.like(plan.deletions, [{ imageId: 'sha256:u-multi', refs: ['m:1', 'm:2', 'm:3'], tracked: false }]);
  t.is(plan.deletions.length, 1, 'three tags used the budget of three');
});

const GiB = 1024 * MiB;
/** A 100 GiB disk `usedGiB` full. */
const disk = (usedGiB: number) => ({ totalBytes: 100 * GiB, usedBytes: usedGiB * GiB });
/** Ten tracked 1 GiB images, `i0` least recently used. */
const tenImages = Array.from({ length: 10 }, (_, i) => tracked(`i${i}`, 20 - i, { sizeBytes: GiB }));

test('disk pressure: at the high watermark, LRU images go until the projection is at the low one, past the per-cycle count', (t) => {
  const plan = planImageCleanup(input({ tracked: tenImages, disk: disk(86), config: { numImagesDeletePerCycle: 2 } }));
  t.deepEqual(picked(plan), [
    'sha256:i0:tracked',
    'sha256:i1:tracked',
    'sha256:i2:disk-pressure',
    'sha256:i3:disk-pressure',
    'sha256:i4:disk-pressure',
    'sha256:i5:disk-pressure',
  ]);
  t.is(plan.diskUsedPercent, 86);
  t.is(plan.projectedUsedPercent, 80);
  t.regex(
    plan.deletions[2]!.reason,
    /^disk pressure: 86\.0 % used, at or above ECSD_IMAGE_GC_HIGH_PERCENT \(85\); removing the least recently used image registry\.example\/i2:1 \(projected 84\.0 → 83\.0 %, target ECSD_IMAGE_GC_LOW_PERCENT 80\)$/,
  );
});

test('disk pressure: below the high watermark nothing beyond the interval cycle', (t) => {
  const plan = planImageCleanup(input({ tracked: tenImages, disk: disk(84), config: { numImagesDeletePerCycle: 1 } }));
  t.deepEqual(picked(plan), ['sha256:i0:tracked']);
  t.is(plan.projectedUsedPercent, 83);
});

test('disk pressure between cycles removes only what the watermarks ask for, and nothing when below high', (t) => {
  const pressed = planImageCleanup(input({ tracked: tenImages, disk: disk(82 + 5), trigger: 'disk-pressure' }));
  t.deepEqual(
    picked(pressed),
    [0, 1, 2, 3, 4, 5, 6].map((i) => `sha256:i${i}:disk-pressure`),
  );
  const calm = planImageCleanup(input({ tracked: tenImages, disk: disk(84), trigger: 'disk-pressure' }));
  t.deepEqual(calm.deletions, []);
  const noDisk = planImageCleanup(input({ tracked: tenImages, trigger: 'disk-pressure' }));
  t.deepEqual(noDisk.deletions, []);
});

test('disk pressure never takes an image in use, pulling, pinned, pre-pulled, excluded or too young, even if the target is missed', (t) => {
  const plan = planImageCleanup(
    input({
      tracked: [
        tracked('used', 9, { sizeBytes: 10 * GiB, referencingTaskArns: ['arn:task/1'] }),
        tracked('pulling', 9, { sizeBytes: 10 * GiB, pullInFlight: true }),
        tracked('pinned', 9, { sizeBytes: 10 * GiB }),
        tracked('prepull', 9, { sizeBytes: 10 * GiB }),
        tracked('excluded', 9, { sizeBytes: 10 * GiB }),
        tracked('young', 9, { sizeBytes: 10 * GiB, pulledAtMs: NOW - MIN }),
        tracked('free', 1, { sizeBytes: GiB }),
      ],
      pinned: ['registry.example/pinned:1'],
      prepull: ['registry.example/prepull:1'],
      excluded: ['registry.example/excluded:1'],
      disk: disk(99),
      trigger: 'disk-pressure',
    }),
  );
  t.deepEqual(picked(plan), ['sha256:free:disk-pressure']);
  t.is(plan.projectedUsedPercent, 98);
});

test('disk pressure takes untracked images only when untracked cleanup is on, by creation time among LRU', (t) => {
  const base = {
    tracked: [tracked('t', 5, { sizeBytes: 3 * GiB })],
    // Created 10 h ago: older than the tracked image's last use (5 h ago), so it goes first.
    untrackedImages: [untracked('old', 3 * 1024, { createdAtMs: NOW - 10 * HOUR })],
    disk: disk(86),
    trigger: 'disk-pressure' as const,
  };
  t.deepEqual(picked(planImageCleanup(input(base))), ['sha256:t:disk-pressure']);
  t.deepEqual(picked(planImageCleanup(input({ ...base, config: { enableUntrackedImageCleanup: true } }))), [
    'sha256:u-old:disk-pressure',
    'sha256:t:disk-pressure',
  ]);
});

test('ECSD_IMAGE_GC_HIGH_PERCENT=100 turns disk pressure off, even on a full disk', (t) => {
  const plan = planImageCleanup(
    input({ tracked: tenImages, disk: disk(100), trigger: 'disk-pressure', config: { imageGcHighPercent: 100 } }),
  );
  t.deepEqual(plan.deletions, []);
});

test('the same input plans the same deletions (ties broken by image ID)', (t) => {
  const tied = [tracked('z', 3), tracked('y', 3), tracked('x', 3)];
  const first = picked(planImageCleanup(input({ tracked: tied, config: { numImagesDeletePerCycle: 2 } })));
  const second = picked(
    planImageCleanup(input({ tracked: [...tied].reverse(), config: { numImagesDeletePerCycle: 2 } })),
  );
  t.deepEqual(first, ['sha256:x:tracked', 'sha256:y:tracked']);
  t.deepEqual(second, first);
});
