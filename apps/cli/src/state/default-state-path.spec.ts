import { describe, expect, it } from 'vitest';
import { defaultStatePath } from './default-state-path.js';

describe('defaultStatePath', () => {
  it('prefers VDPA_KIT_STATE, then XDG_STATE_HOME, then ~/.local/state', () => {
    expect(defaultStatePath({ VDPA_KIT_STATE: '/s.jsonl', XDG_STATE_HOME: '/x' }, '/home/u')).toBe(
      '/s.jsonl',
    );
    expect(defaultStatePath({ XDG_STATE_HOME: '/x' }, '/home/u')).toBe('/x/vdpa-kit/state.jsonl');
    expect(defaultStatePath({ VDPA_KIT_STATE: '', XDG_STATE_HOME: '' }, '/home/u')).toBe(
      '/home/u/.local/state/vdpa-kit/state.jsonl',
    );
  });
});
