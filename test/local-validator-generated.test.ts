// The precompiled task-definition validator: current with the schema and its options, and answering exactly as
// a validator compiled at run time does.
import { readFileSync } from 'node:fs';
import test from 'ava';
import {
  createTaskDefinitionValidator,
  defaultTaskDefinitionValidator,
  loadTaskDefinitionSchema,
} from '../src/sources/local/task-definition-schema.js';
import {
  TASK_DEFINITION_VALIDATOR_FILE,
  taskDefinitionValidatorSource,
} from '../src/sources/local/task-definition-validator-source.js';
import { REPO_ROOT } from './helpers/agent-process.js';

test('the generated validator is current (run `npm run validators` after changing the schema)', (t) => {
  const committed = readFileSync(`${REPO_ROOT}/${TASK_DEFINITION_VALIDATOR_FILE}`, 'utf8');
  t.is(taskDefinitionValidatorSource(loadTaskDefinitionSchema()), committed);
});

const DOCUMENTS: Array<[string, unknown]> = [
  ['valid', { family: 'web', containerDefinitions: [{ name: 'a', image: 'busybox', memory: 32 }] }],
  ['not an object', 42],
  ['no containers', { family: 'web' }],
  [
    'several mistakes at once',
    {
      family: 'bad family!',
      unknownField: true,
      containerDefinitions: [
        { name: '', image: 'busybox', memory: 'lots', portMappings: [{ containerPort: 80, protocol: 'sctp' }] },
        { name: 'b', image: 'x'.repeat(300), essential: 'yes' },
      ],
    },
  ],
];

for (const [name, document] of DOCUMENTS) {
  test(`precompiled and run-time validators agree: ${name}`, (t) => {
    const issues = defaultTaskDefinitionValidator()(document);
    t.deepEqual(issues, createTaskDefinitionValidator()(document));
    if (name === 'valid') t.deepEqual(issues, []);
    else t.true(issues.length > 0);
  });
}
