// Loaded by vitest before every test file (vitest.config.ts `setupFiles`): the decorator metadata
// polyfill inversify needs, imported once as the composition root would.
import 'reflect-metadata';
