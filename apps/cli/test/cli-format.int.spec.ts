import { beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, lines, tempState, vdpaKit, vdpaKitInProcess } from './cli-harness.js';

// The iproute2 `vdpa` formats, byte for byte (cli-formats.md). Expected texts are the reference's
// worked examples. Differences, each due to our devices and documented where it is asserted:
// - vdpasim_net here supports 8 queue pairs, MQ and CTRL_RX (kernel: 1 pair), so `mgmtdev show`
//   reports `max_supported_vqs 17` and two more feature names;
// - devices are added with `device_features 0x308830028` (the kernel simulator's exact feature set),
//   so `dev show`, `dev config show` and `dev vstats show` match the reference unchanged;
// - usage lines name the program `vdpa-kit` instead of `vdpa`.
// The reference examples run the built binary (`node bin/vdpa-kit.js`); the many error and usage
// variations run the same `main` in-process (`vdpaKitInProcess`) to keep the suite fast.

const SIMNET_FEATURES =
  'MTU MAC STATUS CTRL_VQ CTRL_RX MQ CTRL_MAC_ADDR ANY_LAYOUT VERSION_1 ACCESS_PLATFORM';
const SIMNET_FEATURES_JSON =
  '"MTU","MAC","STATUS","CTRL_VQ","CTRL_RX","MQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM"';
const NEGOTIATED = 'MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR VERSION_1 ACCESS_PLATFORM';
const NEGOTIATED_JSON = '"MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","VERSION_1","ACCESS_PLATFORM"';

function ok(run: CliRun, stdout: string): void {
  expect({ stderr: run.stderr, code: run.code }).toEqual({ stderr: '', code: 0 });
  expect(run.stdout).toBe(stdout);
}

function fails(run: CliRun, stderr: string, stdout = ''): void {
  expect(run).toEqual({ stdout, stderr, code: 1 });
}

describe('mgmtdev show', () => {
  const state = tempState();

  it('prints vdpasim_net in text, -j and -jp', async () => {
    const [text, json, pretty] = await Promise.all([
      vdpaKit(state, ['mgmtdev', 'show', 'vdpasim_net']),
      vdpaKit(state, ['-j', 'mgmtdev', 'show', 'vdpasim_net']),
      vdpaKit(state, ['-jp', 'mgmtdev', 'show', 'vdpasim_net']),
    ]);
    ok(
      text,
      lines(
        'vdpasim_net: ',
        '  supported_classes net',
        '  max_supported_vqs 17',
        `  dev_features ${SIMNET_FEATURES}`,
      ),
    );
    ok(
      json,
      lines(
        `{"mgmtdev":{"vdpasim_net":{"supported_classes":["net"],"max_supported_vqs":17,"dev_features":[${SIMNET_FEATURES_JSON}]}}}`,
      ),
    );
    ok(
      pretty,
      lines(
        '{',
        '    "mgmtdev": {',
        '        "vdpasim_net": {',
        '            "supported_classes": [ "net" ],',
        '            "max_supported_vqs": 17,',
        `            "dev_features": [ ${SIMNET_FEATURES_JSON} ]`,
        '        }',
        '    }',
        '}',
      ),
    );
  });

  it('dumps every management device in registration order, prefixes accepted', async () => {
    const run = await vdpaKitInProcess(state, ['m', 'l']);
    ok(
      run,
      lines(
        'vdpasim_net: ',
        '  supported_classes net',
        '  max_supported_vqs 17',
        `  dev_features ${SIMNET_FEATURES}`,
        'mvnet: ',
        '  supported_classes net',
        '  max_supported_vqs 2',
        '  dev_features MTU MAC STATUS ANY_LAYOUT VERSION_1 ACCESS_PLATFORM',
      ),
    );
  });

  it('reports an unknown mgmtdev like the kernel, the JSON section printed empty', async () => {
    const [text, json] = await Promise.all([
      vdpaKit(state, ['mgmtdev', 'show', 'nope']),
      vdpaKit(state, ['-j', 'mgmtdev', 'show', 'nope']),
    ]);
    const err = lines(
      'Error: vdpa: Fail to find the specified mgmt device.',
      'kernel answers: No such device',
    );
    fails(text, err);
    fails(json, err, lines('{"mgmtdev":{}}'));
  });

  it('rejects a handle with two slashes and prints usage for a bare mgmtdev', async () => {
    const [slashes, bare] = await Promise.all([
      vdpaKitInProcess(state, ['mgmtdev', 'show', 'a/b/c']),
      vdpaKitInProcess(state, ['mgmtdev']),
    ]);
    fails(
      slashes,
      lines(
        'Wrong vdpa mgmtdev identification string format',
        'Expected "mgmtdev_bus_name/mgmtdev_name"',
        'Expected "mgmtdev_name"',
      ),
    );
    expect(bare).toEqual({ stdout: '', stderr: lines('Usage: vdpa-kit mgmtdev show [ DEV ]'), code: 0 });
  });
});

describe('dev add, show, config show, vstats show, set, del', () => {
  const state = tempState();

  beforeAll(async () => {
    ok(
      await vdpaKitInProcess(state, [
        'dev',
        'add',
        'name',
        'vdpa0',
        'mgmtdev',
        'vdpasim_net',
        'mac',
        '00:11:22:33:44:55',
        'mtu',
        '9000',
        'device_features',
        '0x308830028',
      ]),
      '',
    );
    // JSON mode prints the writer's lone newline even for a command with no output.
    ok(
      await vdpaKitInProcess(state, [
        '-j',
        'dev',
        'add',
        'name',
        'vdpa9',
        'mgmtdev',
        'vdpasim_net',
        'device_features',
        '308830028',
      ]),
      '\n',
    );
  });

  it('shows devices in text, -j and -jp', async () => {
    const [one, json, pretty, dump] = await Promise.all([
      vdpaKit(state, ['dev', 'show', 'vdpa0']),
      vdpaKit(state, ['-j', 'dev', 'show', 'vdpa0']),
      vdpaKit(state, ['dev', 'show', 'vdpa0', '-jp']),
      vdpaKit(state, ['dev']),
    ]);
    ok(one, lines('vdpa0: type network mgmtdev vdpasim_net vendor_id 0 max_vqs 3 max_vq_size 256'));
    ok(
      json,
      lines(
        '{"dev":{"vdpa0":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256}}}',
      ),
    );
    ok(
      pretty,
      lines(
        '{',
        '    "dev": {',
        '        "vdpa0": {',
        '            "type": "network",',
        '            "mgmtdev": "vdpasim_net",',
        '            "vendor_id": 0,',
        '            "max_vqs": 3,',
        '            "max_vq_size": 256',
        '        }',
        '    }',
        '}',
      ),
    );
    ok(
      dump,
      lines(
        'vdpa0: type network mgmtdev vdpasim_net vendor_id 0 max_vqs 3 max_vq_size 256',
        'vdpa9: type network mgmtdev vdpasim_net vendor_id 0 max_vqs 3 max_vq_size 256',
      ),
    );
  });

  it('shows config before FEATURES_OK (no driver bound)', async () => {
    const [text, json, pretty] = await Promise.all([
      vdpaKit(state, ['dev', 'config', 'show', 'vdpa0']),
      vdpaKit(state, ['-j', 'dev', 'config', 'show', 'vdpa0']),
      vdpaKit(state, ['-jp', 'dev', 'config', 'show', 'vdpa0']),
    ]);
    ok(text, lines('vdpa0: mac 00:11:22:33:44:55 link up link_announce false mtu 9000 '));
    ok(
      json,
      lines(
        '{"config":{"vdpa0":{"mac":"00:11:22:33:44:55","link ":"up","link_announce ":false,"mtu":9000}}}',
      ),
    );
    ok(
      pretty,
      lines(
        '{',
        '    "config": {',
        '        "vdpa0": {',
        '            "mac": "00:11:22:33:44:55",',
        '            "link ": "up",',
        '            "link_announce ": false,',
        '            "mtu": 9000',
        '        }',
        '    }',
        '}',
      ),
    );
  });

  it('shows negotiated features once virtio-net brought the device up (--bind virtio)', async () => {
    const [text, json, pretty] = await Promise.all([
      vdpaKit(state, ['dev', 'config', 'show', 'vdpa0', '--bind', 'virtio']),
      vdpaKit(state, ['-j', 'dev', 'config', 'show', 'vdpa0', '--bind', 'virtio']),
      vdpaKit(state, ['-jp', 'dev', 'config', 'show', 'vdpa0', '--bind', 'virtio']),
    ]);
    ok(
      text,
      lines(
        'vdpa0: mac 00:11:22:33:44:55 link up link_announce false mtu 9000 ',
        `  negotiated_features ${NEGOTIATED}`,
      ),
    );
    ok(
      json,
      lines(
        `{"config":{"vdpa0":{"mac":"00:11:22:33:44:55","link ":"up","link_announce ":false,"mtu":9000,"negotiated_features":[${NEGOTIATED_JSON}]}}}`,
      ),
    );
    ok(
      pretty,
      lines(
        '{',
        '    "config": {',
        '        "vdpa0": {',
        '            "mac": "00:11:22:33:44:55",',
        '            "link ": "up",',
        '            "link_announce ": false,',
        '            "mtu": 9000,',
        `            "negotiated_features": [ ${NEGOTIATED_JSON} ]`,
        '        }',
        '    }',
        '}',
      ),
    );
  });

  it('refuses vstats before feature negotiation and prints counters after it', async () => {
    const [early, rx, tx, txJson, cvq] = await Promise.all([
      vdpaKit(state, ['dev', 'vstats', 'show', 'vdpa0', 'qidx', '0']),
      vdpaKit(state, ['dev', 'vstats', 'show', 'vdpa0', 'qidx', '0', '--bind', 'virtio']),
      vdpaKit(state, ['dev', 'vstats', 'show', 'vdpa0', 'qidx', '1', '--bind', 'virtio']),
      vdpaKit(state, ['-j', 'dev', 'vstats', 'show', 'vdpa0', 'qidx', '1', '--bind', 'virtio']),
      vdpaKit(state, ['-j', 'dev', 'vstats', 'show', 'vdpa0', 'qidx', '2', '--bind', 'virtio']),
    ]);
    fails(
      early,
      lines(
        'Error: vdpa: feature negotiation not complete.',
        'kernel answers: Resource temporarily unavailable',
      ),
    );
    // iproute2's quirk: without MQ, max_vqp is 0, so qidx 0 prints control_vq and the CVQ (2) prints rx.
    ok(
      rx,
      lines('vdpa0: queue_type control_vq rx packets 0 rx bytes 0 rx errors 0 rx overruns 0 rx drops 0 '),
    );
    ok(tx, lines('vdpa0: queue_type tx tx packets 0 tx bytes 0 tx errors 0 tx drops 0 '));
    ok(
      txJson,
      lines(
        '{"vstats":{"vdpa0":{"queue_type":"tx","tx packets":0,"tx bytes":0,"tx errors":0,"tx drops":0}}}',
      ),
    );
    expect(cvq.code).toBe(0);
    expect(cvq.stdout).toMatch(
      /^\{"vstats":\{"vdpa0":\{"queue_type":"rx","cvq requests":\d+,"cvq successes":\d+,"cvq errors":0\}\}\}\n$/,
    );
  });

  it('reports malformed vstats lines with the usage', async () => {
    const [bare, two, help, noQidx] = await Promise.all([
      vdpaKitInProcess(state, ['dev', 'vstats']),
      vdpaKitInProcess(state, ['dev', 'vstats', 'show', 'vdpa0', 'qidx']),
      vdpaKitInProcess(state, ['dev', 'vstats', 'help']),
      vdpaKitInProcess(state, ['dev', 'vstats', 'show', 'vdpa0']),
    ]);
    const usage = lines('Usage: vdpa-kit dev vstats show DEV [qidx QUEUE_INDEX]');
    fails(bare, usage);
    fails(two, usage);
    expect(help).toEqual({ stdout: '', stderr: usage, code: 0 });
    fails(noQidx, lines('kernel answers: Invalid argument'));
  });

  it('prints kernel errors and parse errors exactly', async () => {
    const runs = await Promise.all([
      vdpaKit(state, ['-jp', 'dev', 'show', 'nope']),
      vdpaKit(state, ['dev', 'del', 'nope']),
      vdpaKit(state, ['dev', 'add', 'name', 'vdpa0', 'mgmtdev', 'vdpasim_net']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'x', 'mgmtdev', 'nope']),
      vdpaKitInProcess(state, ['dev', 'show', 'a', 'b', 'c']),
      vdpaKitInProcess(state, ['-j', 'dev', 'show', 'a', 'b', 'c']),
      vdpaKitInProcess(state, ['dev', 'del']),
      vdpaKitInProcess(state, ['dev', 'frob']),
      vdpaKitInProcess(state, ['frob']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'foo', 'mgmtdev', 'vdpasim_net', 'mtu', '70000']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'foo']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'foo', 'mgmtdev', 'vdpasim_net', 'max_vqp', '0']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'foo', 'mgmtdev', 'mvnet', 'max_vqp', '2']),
      vdpaKitInProcess(state, [
        'dev',
        'add',
        'name',
        'foo',
        'mgmtdev',
        'vdpasim_net',
        'mac',
        '00:11:22:33:44:zz',
      ]),
      vdpaKitInProcess(state, ['dev', 'set', 'name', 'vdpa0']),
    ]);
    const notFound = lines('Error: vdpa: device not found.', 'kernel answers: No such device');
    fails(runs[0], notFound, lines('{', '    "dev": {}', '}'));
    fails(runs[1], notFound);
    fails(runs[2], lines('kernel answers: File exists'));
    fails(
      runs[3],
      lines('Error: vdpa: Fail to find the specified management device.', 'kernel answers: No such device'),
    );
    fails(runs[4], lines('Unknown option "b"'));
    fails(runs[5], lines('Unknown option "b"'), '\n');
    fails(runs[6], lines('String parameter expected'));
    fails(runs[7], lines('Command "frob" not found'));
    fails(runs[8], lines('Object "frob" not found'));
    fails(runs[9], '');
    fails(runs[10], lines('management device handle not set.'));
    fails(
      runs[11],
      lines('Error: vdpa: At least one pair of VQs is required.', 'kernel answers: Invalid argument'),
    );
    fails(
      runs[12],
      lines(
        'Error: vdpa: Some provided attributes are not supported: 0x1000.',
        'kernel answers: Operation not supported',
      ),
    );
    // ll_addr_a2n() quotes the group that failed, not the whole argument.
    fails(runs[13], lines('"zz" is invalid lladdr.'));
    fails(runs[14], lines('kernel answers: Operation not supported'));
  });

  // vdpa.c: vdpa_nl_policy has NLA_POLICY_MIN(NLA_U16, 68) for VDPA_ATTR_DEV_NET_CFG_MTU; the policy
  // refuses before vdpa_nl_cmd_dev_add_set_doit() runs, with lib/nlattr.c's "integer out of range"
  // (no module prefix) and -ERANGE, which iproute2's nl_dump_ext_ack() prints as an Error line.
  it('prints the netlink policy refusal of an MTU below 68', async () => {
    const [low, zero, nope] = await Promise.all([
      vdpaKit(state, ['dev', 'add', 'name', 'foo', 'mgmtdev', 'vdpasim_net', 'mtu', '67']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'foo', 'mgmtdev', 'vdpasim_net', 'mtu', '0']),
      // the policy runs before the mgmtdev lookup and the name check
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'vdpa0', 'mgmtdev', 'nope', 'mtu', '10']),
    ]);
    const policy = lines('Error: integer out of range.', 'kernel answers: Numerical result out of range');
    fails(low, policy);
    fails(zero, policy);
    fails(nope, policy);
  });

  // lib/libnetlink.c: nl_dump_ext_ack() prints "Invalid offset for NLMSGERR_ATTR_OFFS" when the bad
  // attribute's offset in the request (after the names, vdpa_opts_put()) exceeds the 108-byte ack.
  it('prints iproute2 complaint about the attribute offset when long names precede the MTU', async () => {
    const [short, long] = await Promise.all([
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'v'.repeat(67), 'mgmtdev', 'vdpasim_net', 'mtu', '1']),
      vdpaKitInProcess(state, ['dev', 'add', 'name', 'v'.repeat(68), 'mgmtdev', 'vdpasim_net', 'mtu', '1']),
    ]);
    const policy = ['Error: integer out of range.', 'kernel answers: Numerical result out of range'];
    fails(short, lines(...policy));
    fails(long, lines('Invalid offset for NLMSGERR_ATTR_OFFS', ...policy));
  });

  // vdpa_sim.c: vdpasim_create() refuses features outside the supported set with -EINVAL, and the
  // mgmtdev's dev_add() has no extack: iproute2 prints no Error line.
  it('prints only kernel answers when the management device refuses device_features', async () => {
    fails(
      await vdpaKitInProcess(state, [
        'dev',
        'add',
        'name',
        'foo',
        'mgmtdev',
        'vdpasim_net',
        'device_features',
        '0x1',
      ]),
      lines('kernel answers: Invalid argument'),
    );
  });

  // vdpa.c: vdpa_dev_net_device_attr_set(): !is_valid_ether_addr() is -EOPNOTSUPP, "Invalid MAC address".
  it('refuses a multicast or zero MAC on dev set with the kernel text', async () => {
    const [multicast, zero] = await Promise.all([
      vdpaKit(state, ['dev', 'set', 'name', 'vdpa0', 'mac', '01:00:5e:00:00:01']),
      vdpaKitInProcess(state, ['dev', 'set', 'name', 'vdpa0', 'mac', '0']),
    ]);
    const refused = lines('Error: vdpa: Invalid MAC address.', 'kernel answers: Operation not supported');
    fails(multicast, refused);
    fails(zero, refused);
  });

  it('changes the MAC with dev set and deletes with dev del, both kept in the state log', async () => {
    ok(await vdpaKitInProcess(state, ['dev', 'set', 'name', 'vdpa9', 'mac', '02:00:00:00:00:09']), '');
    ok(
      await vdpaKitInProcess(state, ['dev', 'config', 'show', 'vdpa9']),
      lines('vdpa9: mac 02:00:00:00:00:09 link up link_announce false mtu 1500 '),
    );
    ok(await vdpaKitInProcess(state, ['dev', 'del', 'vdpa9']), '');
    const [show, config] = await Promise.all([
      vdpaKitInProcess(state, ['-j', 'dev', 'show']),
      vdpaKitInProcess(state, ['dev', 'config']),
    ]);
    ok(
      show,
      lines(
        '{"dev":{"vdpa0":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256}}}',
      ),
    );
    ok(config, lines('vdpa0: mac 00:11:22:33:44:55 link up link_announce false mtu 9000 '));
  });
});

// iproute2 lib/ll_addr.c: ll_addr_a2n() reads an argument with a '.' as an IPv4 address into the first
// 4 bytes, and ignores what follows a sixth ':' group; vdpa_nl_cmd_dev_add_set_doit() copies the MAC.
describe('MAC arguments as ll_addr_a2n() reads them', () => {
  const state = tempState();

  it('adds a device with a dotted-quad MAC and with seven groups', async () => {
    ok(
      await vdpaKitInProcess(state, ['dev', 'add', 'name', 'q', 'mgmtdev', 'vdpasim_net', 'mac', '1.2.3.4']),
      '',
    );
    ok(
      await vdpaKitInProcess(state, [
        'dev',
        'add',
        'name',
        's',
        'mgmtdev',
        'vdpasim_net',
        'mac',
        '02:11:22:33:44:55:66:77',
      ]),
      '',
    );
    ok(
      await vdpaKitInProcess(state, ['dev', 'config', 'show']),
      lines(
        'q: mac 01:02:03:04:00:00 link up link_announce false mtu 1500 ',
        's: mac 02:11:22:33:44:55 link up link_announce false mtu 1500 ',
      ),
    );
    fails(
      await vdpaKitInProcess(state, ['dev', 'set', 'name', 'q', 'mac', '1.2.3.256']),
      lines('"1.2.3.256" is invalid lladdr.'),
    );
  });
});

describe('global options and help', () => {
  const state = tempState();

  it('prints the version with -V and help with --help on every command', async () => {
    const [version, help, devHelp, runHelp, benchHelp] = await Promise.all([
      vdpaKit(state, ['-V']),
      vdpaKit(state, ['--help']),
      vdpaKit(state, ['dev', '--help']),
      vdpaKit(state, ['run', '--help']),
      vdpaKit(state, ['bench', 'loopback', '--help']),
    ]);
    expect(version).toEqual({ stdout: lines('vdpa-kit utility, vdpa-kit-0.1.0'), stderr: '', code: 0 });
    for (const run of [help, devHelp, runHelp, benchHelp]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: vdpa-kit/);
    }
    expect(devHelp.stdout).toContain(
      'vdpa-kit dev add name NAME mgmtdev MANAGEMENTDEV [ device_features DEVICE_FEATURES]',
    );
  });

  it('prints one error line and exits non-zero for a bad option', async () => {
    const run = await vdpaKitInProcess(state, ['--frob']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(lines("error: unknown option '--frob'"));
  });

  // vdpa.c: help() lists -n[o-nice-names] (which its getopt string does not accept).
  it('prints the object help of iproute2 (program name adapted)', async () => {
    expect(await vdpaKitInProcess(state, ['help'])).toEqual({
      stdout: '',
      stderr: lines(
        'Usage: vdpa-kit [ OPTIONS ] OBJECT { COMMAND | help }',
        'where  OBJECT := { mgmtdev | dev }',
        '       OPTIONS := { -V[ersion] | -n[o-nice-names] | -j[son] | -p[retty] }',
      ),
      code: 0,
    });
  });

  it('prints the dev help of iproute2 (program name adapted)', async () => {
    const run = await vdpaKitInProcess(state, ['dev', 'help']);
    expect(run).toEqual({
      stdout: '',
      stderr: lines(
        'Usage: vdpa-kit dev show [ DEV ]',
        '       vdpa-kit dev add name NAME mgmtdev MANAGEMENTDEV [ device_features DEVICE_FEATURES]',
        '                                                        [ mac MACADDR ] [ mtu MTU ]',
        '                                                        [ max_vqp MAX_VQ_PAIRS ]',
        '       vdpa-kit dev del DEV',
        'Usage: vdpa-kit dev config COMMAND [ OPTIONS ]',
        'Usage: vdpa-kit dev vstats COMMAND',
      ),
      code: 0,
    });
  });
});
