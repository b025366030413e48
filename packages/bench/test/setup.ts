// Loaded by vitest before every test file (vitest.config.ts `setupFiles`): the decorator metadata
// polyfill inversify needs (the loopback and trace benchmarks compose stacks), imported once as a bin
// entry does.
import 'reflect-metadata';
