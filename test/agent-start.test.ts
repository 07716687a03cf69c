// Start-up checks of the agent that need no engine.
import test from 'ava';
import { apiVersionBelow } from '../src/agent/agent.js';

test('Docker API versions compare numerically, and an unreadable one is not judged', (t) => {
  t.true(apiVersionBelow('1.20', '1.21'));
  t.false(apiVersionBelow('1.21', '1.21'));
  t.false(apiVersionBelow('1.41', '1.21'));
  t.false(apiVersionBelow('1.100', '1.21'), 'minor versions are numbers, not strings');
  t.false(apiVersionBelow('', '1.21'));
});
