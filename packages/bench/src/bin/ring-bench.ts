// The ring benchmark's command line: `node packages/bench/dist/bin/ring-bench.js [--size BYTES]
// [--runs N] [--packets N]`, one JSON line per size (see ring/ring-bench.ts).
import { ringBenchMain } from '../ring/ring-bench.js';

process.exitCode = ringBenchMain(process.argv.slice(2));
