export { recordSession, type RecordSessionOptions } from './record-session.js';
export { expectReplay, ReplayAssertionError } from './expect-replay.js';
export { loadTraceFixture } from './load-trace-fixture.js';
