import { describe, expect, it } from 'vitest';
import { CliError } from './errors.js';
import { macOption } from './mac-option.js';

describe('macOption', () => {
  it('reads a MAC as ll_addr_a2n() does', () => {
    expect([...macOption('--mac', '52:54:00:12:34:56')]).toEqual([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
  });

  it('names the option and the value it refuses', () => {
    expect(() => macOption('--set-mac', 'zz')).toThrow(CliError);
    expect(() => macOption('--set-mac', 'zz')).toThrow('--set-mac zz is not a MAC address');
  });
});
