import { describe, expect, it } from 'vitest';
import { OP_NAMES } from '@vdpa-kit/core-bus';
import {
  DATAPATH_DEPENDENT_AFTER_KICK_OPS,
  DATAPATH_DEPENDENT_OPS,
  DatapathDependence,
  isDatapathDependent,
} from './datapath-dependent.js';

describe('datapath-dependent ops', () => {
  it('are vq stats and vq state always, config and status only after a kick', () => {
    const always = OP_NAMES.filter((op) => isDatapathDependent(op, false));
    const afterKick = OP_NAMES.filter((op) => isDatapathDependent(op, true));
    expect(always).toEqual(['getVqState', 'getVendorVqStats']);
    expect([...afterKick].sort()).toEqual([...DATAPATH_DEPENDENT_OPS].sort());
    expect(DATAPATH_DEPENDENT_AFTER_KICK_OPS.every((op) => DATAPATH_DEPENDENT_OPS.includes(op))).toBe(true);
  });

  it('follow kicks and resets of one device', () => {
    const dep = new DatapathDependence();
    expect(dep.dependent('getStatus')).toBe(false);
    dep.note('setStatus');
    expect(dep.kickedSinceReset).toBe(false);
    dep.note('kickVq');
    expect(dep.dependent('getStatus')).toBe(true);
    expect(dep.dependent('getConfig')).toBe(true);
    expect(dep.dependent('getDeviceFeatures')).toBe(false);
    dep.note('compatReset');
    expect(dep.dependent('getConfig')).toBe(false);
    dep.noteKicks();
    expect(dep.dependent('getConfig')).toBe(true);
    dep.note('reset');
    expect(dep.kickedSinceReset).toBe(false);
    dep.note('kickVqWithData');
    expect(dep.kickedSinceReset).toBe(true);
    expect(dep.dependent('getVqState')).toBe(true);
  });
});
