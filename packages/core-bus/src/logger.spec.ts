import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleLogger, nullLogger } from './logger.js';

describe('loggers', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('consoleLogger writes records at or above its level to stderr with fields', () => {
    const lines: unknown[][] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args));
    const log = consoleLogger('warn');
    log.debug('d');
    log.info('i');
    log.warn('w', { dev: 'vdpa0' });
    log.error('e');
    expect(lines).toEqual([['warn w', { dev: 'vdpa0' }], ['error e']]);
  });

  it('nullLogger drops everything', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    nullLogger.error('x', { a: 1 });
    expect(spy).not.toHaveBeenCalled();
  });
});
