import {
  LogicalClock,
  type VdpaBus,
  VdpaBus as Bus,
  type VdpaDevSetConfig,
  type VdpaDevice,
  VdpaError,
} from '@vdpa-kit/core-bus';
import { FakeDevice, FakeMgmtDevice } from '@vdpa-kit/core-bus/testing';
import { VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE } from '@vdpa-kit/virtio-spec';
import { describe, expect, it } from 'vitest';
import { foldState } from '../state/fold-state.js';
import type { NewStateEvent } from '../state/state-event.js';
import { type ManagementRunner, type VdpaCommandResult, runVdpaCommand } from './vdpa-commands.js';

/** A management device whose `devSetAttr` refuses, as a driver's `dev_set_attr` may. */
class RefusingMgmtDevice extends FakeMgmtDevice {
  override devSetAttr(_dev: VdpaDevice, _config: VdpaDevSetConfig): void {
    throw new VdpaError('EIO', 'the device refused the mac');
  }
}

/**
 * Runs one `vdpa` command against a bus built by `setup` (the kernel, with its devices), the way
 * `withManagementState` does minus the state file; returns the output and the event it would append.
 */
async function vdpa(
  setup: (bus: VdpaBus) => void,
  object: string,
  ...words: string[]
): Promise<VdpaCommandResult & { readonly event: NewStateEvent | undefined }> {
  let event: NewStateEvent | undefined;
  const management: ManagementRunner = async (fn) => {
    const bus = new Bus(new LogicalClock());
    try {
      setup(bus);
      const outcome = fn({ bus, state: foldState([], 'memory'), ghosts: new Map() });
      event = outcome.event;
      return outcome.value;
    } finally {
      bus.dispose();
    }
  };
  const result = await runVdpaCommand(object, words, { json: false, pretty: false, management });
  return { ...result, event };
}

/** vdpasim_net-like `net` mgmtdev with `n0`, and a device `plain` registered without a mgmtdev. */
function withUnmanaged(bus: VdpaBus): void {
  const net = new FakeMgmtDevice(bus, { name: 'net' });
  bus.registerMgmtDevice(net);
  bus.devAdd('net', 'n0');
  bus.registerDevice(bus.allocDevice({ ops: new FakeDevice(), name: 'plain', classIds: ['virtio'] }), 2);
}

const invalid = 'kernel answers: Invalid argument';

describe('vdpa commands on a device no management device created (vdpa.c: `!vdev->mdev`)', () => {
  it('answers dev show with a bare EINVAL (vdpa_nl_cmd_dev_get_doit)', async () => {
    const run = await vdpa(withUnmanaged, 'dev', 'show', 'plain');
    expect(run).toMatchObject({ stdout: '', stderr: [invalid], exitCode: 1 });
    // the dump skips it (vdpa_dev_dump)
    expect((await vdpa(withUnmanaged, 'dev', 'show')).stdout).toBe(
      'n0: type network mgmtdev net vendor_id 0 max_vqs 3 max_vq_size 256\n',
    );
  });

  it('explains it for dev del, config show, vstats show and set, as their doits do', async () => {
    expect((await vdpa(withUnmanaged, 'dev', 'del', 'plain')).stderr).toEqual([
      'Error: vdpa: Only user created device can be deleted by user.',
      invalid,
    ]);
    const unmanaged = ['Error: vdpa: unmanaged vdpa device.', invalid];
    expect((await vdpa(withUnmanaged, 'dev', 'config', 'show', 'plain')).stderr).toEqual(unmanaged);
    expect((await vdpa(withUnmanaged, 'dev', 'vstats', 'show', 'plain', 'qidx', '0')).stderr).toEqual(
      unmanaged,
    );
    expect(
      (await vdpa(withUnmanaged, 'dev', 'set', 'name', 'plain', 'mac', '02:00:00:00:00:01')).stderr,
    ).toEqual(unmanaged);
    // without a MAC too: the unmanaged check comes before vdpa_dev_net_device_attr_set()
    expect((await vdpa(withUnmanaged, 'dev', 'set', 'name', 'plain')).stderr).toEqual(unmanaged);
  });
});

describe('dev set on a management device without the net class (vdpa_nl_cmd_dev_attr_set_doit)', () => {
  const withBlock = (bus: VdpaBus): void => {
    bus.registerMgmtDevice(new FakeMgmtDevice(bus, { name: 'blk', idTable: [VIRTIO_ID_BLOCK] }));
    bus.devAdd('blk', 'b0');
  };

  it('prints the warning extack and succeeds: err stays 0 and nothing is set or logged', async () => {
    for (const words of [['mac', '02:00:00:00:00:01'], []]) {
      expect(await vdpa(withBlock, 'dev', 'set', 'name', 'b0', ...words)).toEqual({
        stdout: '',
        stderr: ['Warning: vdpa: b0 device not supported.'],
        exitCode: 0,
        event: undefined,
      });
    }
  });

  // NL_SET_ERR_MSG_FMT_MOD() formats into NETLINK_MAX_FMTMSG_LEN (80) bytes: a long name is cut.
  it('cuts the warning as the kernel cuts a formatted extack at 79 bytes', async () => {
    const name = `b${'x'.repeat(59)}`;
    const setup = (bus: VdpaBus): void => {
      bus.registerMgmtDevice(new FakeMgmtDevice(bus, { name: 'blk', idTable: [VIRTIO_ID_BLOCK] }));
      bus.devAdd('blk', name);
    };
    const run = await vdpa(setup, 'dev', 'set', 'name', name, 'mac', '02:00:00:00:00:01');
    const message = `vdpa: ${name} device not supported`.slice(0, 79);
    expect(message).toBe(`vdpa: ${name} device not s`);
    expect(run).toMatchObject({ stderr: [`Warning: ${message}.`], exitCode: 0 });
  });
});

describe('refusals of the management device callbacks carry no extack', () => {
  // vdpa_nl_cmd_dev_add_set_doit(): mdev->ops->dev_add() gets no extack (vdpasim_create() refusing
  // device features is a bare -EINVAL).
  it('prints only kernel answers when devAdd refuses', async () => {
    const setup = (bus: VdpaBus): void => bus.registerMgmtDevice(new FakeMgmtDevice(bus, { name: 'net' }));
    const run = await vdpa(setup, 'dev', 'add', 'name', 'x', 'mgmtdev', 'net', 'device_features', '0x1');
    expect(run).toMatchObject({ stderr: [invalid], exitCode: 1, event: undefined });
  });

  // vdpa_dev_net_device_attr_set() returns what mdev->ops->dev_set_attr() returns, without extack.
  it('prints only kernel answers when devSetAttr refuses', async () => {
    const setup = (bus: VdpaBus): void => {
      bus.registerMgmtDevice(new RefusingMgmtDevice(bus, { name: 'net' }));
      bus.devAdd('net', 'n0');
    };
    const run = await vdpa(setup, 'dev', 'set', 'name', 'n0', 'mac', '02:00:00:00:00:01');
    expect(run).toMatchObject({
      stderr: ['kernel answers: Input/output error'],
      exitCode: 1,
      event: undefined,
    });
  });
});

// A virtio console: a class `dev config show` has no reply for.
describe('dev config show of a class without a config reply (vdpa_dev_config_fill: -EOPNOTSUPP)', () => {
  const withConsole = (bus: VdpaBus): void => {
    bus.registerMgmtDevice(new FakeMgmtDevice(bus, { name: 'net' }));
    bus.registerMgmtDevice(
      new FakeMgmtDevice(bus, {
        name: 'con',
        idTable: [VIRTIO_ID_CONSOLE],
        device: { deviceId: VIRTIO_ID_CONSOLE },
      }),
    );
    bus.devAdd('net', 'n0');
    bus.devAdd('con', 'c0');
    bus.devAdd('net', 'n1');
  };

  it('answers a bare EOPNOTSUPP for that device', async () => {
    expect(await vdpa(withConsole, 'dev', 'config', 'show', 'c0')).toMatchObject({
      stdout: '',
      stderr: ['kernel answers: Operation not supported'],
      exitCode: 1,
    });
  });

  // vdpa_nl_cmd_dev_config_get_dumpit(): vdpa_dev_config_dump() returns the error, bus_for_each_dev()
  // stops, and the next dumpit call fails on the same device with nothing filled: the dump is done.
  it('ends a dump at that device, without an error', async () => {
    const run = await vdpa(withConsole, 'dev', 'config', 'show');
    expect(run).toMatchObject({ stderr: [], exitCode: 0 });
    expect(run.stdout).toMatch(/^n0: [^\n]*\n$/);
  });
});
