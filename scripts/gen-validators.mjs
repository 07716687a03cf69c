#!/usr/bin/env node
// Regenerates the precompiled task-definition validator from schemas/ (see task-definition-validator-source.ts).
import { writeFileSync } from 'node:fs';
import { loadTaskDefinitionSchema } from '../dist/src/sources/local/task-definition-schema.js';
import {
  TASK_DEFINITION_VALIDATOR_FILE,
  taskDefinitionValidatorSource,
} from '../dist/src/sources/local/task-definition-validator-source.js';

writeFileSync(TASK_DEFINITION_VALIDATOR_FILE, taskDefinitionValidatorSource(loadTaskDefinitionSchema()));
