import type { BusProjection } from '@vdpa-kit/trace';
import { describe, expect, it } from 'vitest';
import { formatProjection } from './format-projection.js';

const STATE: BusProjection = {
  seq: 42,
  mgmtdevs: ['vdpasim_net', 'mvnet'],
  drivers: ['virtio_vdpa'],
  devices: {
    vdpa0: {
      name: 'vdpa0',
      mgmtdev: 'vdpasim_net',
      driver: 'virtio_vdpa',
      deviceId: 1,
      status: 0xf,
      statusNames: ['ACKNOWLEDGE', 'DRIVER', 'DRIVER_OK', 'FEATURES_OK'],
      deviceFeatures: '0x300020028',
      deviceFeatureNames: ['MTU', 'MAC', 'STATUS', 'VERSION_1', 'ACCESS_PLATFORM'],
      driverFeatures: '0x300000020',
      driverFeatureNames: ['MAC', 'VERSION_1', 'ACCESS_PLATFORM'],
      featuresOk: true,
      vqs: {
        '1': {
          num: 256,
          descArea: 0x2000,
          driverArea: 0x3000,
          deviceArea: 0x3400,
          ready: true,
          cb: true,
          kicks: 5,
          callbacks: 4,
        },
        '0': { ready: false, cb: false, kicks: 0, callbacks: 0, state: 7 },
      },
      config: '525400123456',
      configGeneration: 0,
      resets: 1,
      errors: 2,
    },
  },
};

describe('formatProjection', () => {
  it('prints membership, then each device: binding, decoded status, features by name, config, vqs by index', () => {
    expect(formatProjection(STATE)).toEqual([
      'state at seq 42',
      'mgmtdevs vdpasim_net mvnet',
      'drivers virtio_vdpa',
      'vdpa0: mgmtdev vdpasim_net driver virtio_vdpa',
      '  status 0xf ACKNOWLEDGE DRIVER DRIVER_OK FEATURES_OK',
      '  device_features 0x300020028 MTU MAC STATUS VERSION_1 ACCESS_PLATFORM',
      '  driver_features 0x300000020 MAC VERSION_1 ACCESS_PLATFORM (features ok)',
      '  config 525400123456 generation 0',
      '  resets 1 errors 2',
      '  vq 0: num - desc - driver - device - not-ready no-cb state 7 kicks 0 callbacks 0',
      '  vq 1: num 256 desc 0x2000 driver 0x3000 device 0x3400 ready cb kicks 5 callbacks 4',
    ]);
  });

  it('says so when nothing is known yet', () => {
    expect(formatProjection({ seq: -1, mgmtdevs: [], drivers: [], devices: {} })).toEqual([
      'state at seq -1',
      'mgmtdevs -',
      'drivers -',
      'no devices',
    ]);
  });

  it('shows unknown features and an empty config as "-"', () => {
    const lines = formatProjection({
      seq: 3,
      mgmtdevs: [],
      drivers: [],
      devices: {
        vdpa1: {
          name: 'vdpa1',
          status: 0,
          statusNames: [],
          deviceFeatureNames: [],
          driverFeatureNames: [],
          featuresOk: false,
          vqs: {},
          config: '',
          resets: 0,
          errors: 0,
        },
      },
    });
    expect(lines.slice(3)).toEqual([
      'vdpa1: mgmtdev - driver -',
      '  status 0x0',
      '  device_features -',
      '  driver_features -',
      '  config -',
      '  resets 0 errors 0',
    ]);
  });
});
