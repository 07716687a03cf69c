#!/usr/bin/env node
// Regenerates the README's configuration and metrics tables from schemas/ and the metrics registry.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReadme } from '../dist/src/docs/readme-tables.js';

const readme = readFileSync('README.md', 'utf8');
writeFileSync('README.md', await renderReadme(readme, 'schemas/config.schema.json'));
