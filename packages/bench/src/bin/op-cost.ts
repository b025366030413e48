// The op-cost benchmark's command line: `node packages/bench/dist/bin/op-cost.js`, one JSON line
// (see op-cost/op-cost-bench.ts).
import { benchOpCost } from '../op-cost/op-cost-bench.js';

process.stdout.write(`${JSON.stringify(benchOpCost())}\n`);
