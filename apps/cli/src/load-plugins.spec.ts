import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { CliError } from './errors.js';
import { loadPlugins, pickContainerModule, resolvePlugin } from './load-plugins.js';

const REPO = new URL('../../..', import.meta.url).pathname;

describe('pickContainerModule', () => {
  const mod = new ContainerModule(() => undefined);

  it('takes a default ContainerModule, a named one, or a factory', () => {
    expect(pickContainerModule({ default: mod }, 'x')).toBe(mod);
    expect(pickContainerModule({ other: 1, plugin: mod }, 'x')).toBe(mod);
    expect(pickContainerModule({ default: () => mod }, 'x')).toBe(mod);
    expect(pickContainerModule({ fooModule: () => mod }, 'x')).toBe(mod);
  });

  it('does not call functions that are not module factories, and says so', () => {
    let called = false;
    const exports = {
      helper: () => {
        called = true;
        return mod;
      },
    };
    expect(() => pickContainerModule(exports, 'p')).toThrow(CliError);
    expect(called).toBe(false);
  });

  it('reports a throwing factory', () => {
    expect(() =>
      pickContainerModule(
        {
          default: () => {
            throw new Error('nope');
          },
        },
        'p',
      ),
    ).toThrow('plugin p: default() threw: nope');
  });
});

describe('resolvePlugin / loadPlugins', () => {
  it('resolves a plugin directory through its package.json and loads it', async () => {
    expect(resolvePlugin('./examples/plugin-null-net', REPO)).toBe(
      `${REPO}examples/plugin-null-net/index.js`,
    );
    expect(resolvePlugin('examples/plugin-null-net', REPO)).toBe(`${REPO}examples/plugin-null-net/index.js`);
    const [module] = await loadPlugins(['./examples/plugin-null-net'], REPO);
    expect(module).toBeInstanceOf(ContainerModule);
  });

  it('resolves package names from node_modules', () => {
    expect(resolvePlugin('@vdpa-kit/device-mvnet', REPO)).toMatch(/device-mvnet\/dist\/index\.js$/);
  });

  it('names what is missing', () => {
    expect(() => resolvePlugin('./nope', REPO)).toThrow(/plugin \.\/nope not found/);
    expect(() => resolvePlugin('no-such-plugin-package', REPO)).toThrow(
      'plugin package no-such-plugin-package not found',
    );
  });
});
