// The orphans loop's triggers: only a task the store no longer holds can leave orphans behind, so only such
// a task's writes (and Docker changes) wake it; the containers loop's status writes to tracked tasks do not.
import test from 'ava';
import { orphansLoopDefinition } from '../reconcilers/orphans/loop.js';
import type { InformerChange } from '../src/docker/types.js';
import { silentLogger } from '../src/logging/types.js';
import type { TaskRecord } from '../src/store/records.js';

const TRACKED = 'arn:aws:ecs:local:000000000000:task/c/tracked';
const DELETED = 'arn:aws:ecs:local:000000000000:task/c/deleted';

function definition() {
  return orphansLoopDefinition({
    store: { getTask: (arn) => (arn === TRACKED ? ({ arn } as TaskRecord) : undefined) },
    view: { all: () => [], byTask: () => [], withMutation: (_id, fn) => fn() },
    engine: { stopContainer: async () => {} },
    cluster: 'c',
    sourcesReady: () => true,
    stopGraceSec: 30,
    stopClientSlackMs: 1000,
    logger: silentLogger,
  });
}

test('a tasks write wakes only the tasks the store no longer holds', (t) => {
  const keys = definition().keysForChange({
    keysByTable: { tasks: [TRACKED, DELETED] },
    taskArns: [TRACKED, DELETED],
    tables: ['tasks'],
  });
  t.deepEqual([...keys], [DELETED]);
});

test("when the feed lost track the resync's own listing is relied on (no key from the change)", (t) => {
  t.deepEqual([...definition().keysForChange({ keysByTable: 'all', taskArns: 'all', tables: 'all' })], []);
});

test('a Docker change wakes only a container whose task the store does not hold', (t) => {
  const [watch] = definition().watches ?? [];
  const change = (taskArn: string): InformerChange => ({ kind: 'container', type: 'updated', id: 'x', taskArn });
  t.deepEqual([...(watch?.keysFor(change(TRACKED)) ?? [])], []);
  t.deepEqual([...(watch?.keysFor(change(DELETED)) ?? [])], [DELETED]);
});
