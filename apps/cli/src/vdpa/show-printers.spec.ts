import type { MgmtDevInfo, VdpaDevConfigInfo, VdpaDevInfo, VdpaDevVstats } from '@vdpa-kit/core-bus';
import { describe, expect, it } from 'vitest';
import { VdpaPrinter } from './printer.js';
import { printDev, printDevConfig, printDevVstats, printMgmtdev, queueType } from './show-printers.js';

// Expected outputs are the worked examples of the iproute2 format reference (cli-formats.md §3),
// captured from the real `vdpa` 6.1.0 binary.

type Mode = 'text' | 'json' | 'pretty';

function render(mode: Mode, section: string, print: (p: VdpaPrinter) => void): string {
  const p = new VdpaPrinter({ json: mode !== 'text', pretty: mode === 'pretty' });
  p.openSection(section);
  print(p);
  p.closeSection();
  return p.finish();
}

const simNet: MgmtDevInfo = {
  name: 'vdpasim_net',
  busName: undefined,
  devName: 'vdpasim_net',
  supportedClasses: 1n << 1n,
  classIds: [1],
  maxSupportedVqs: 3,
  supportedFeatures: 0x308830028n,
};
const simBlk: MgmtDevInfo = {
  name: 'vdpasim_blk',
  busName: undefined,
  devName: 'vdpasim_blk',
  supportedClasses: 1n << 2n,
  classIds: [2],
  maxSupportedVqs: 0,
  supportedFeatures: 0n,
};
const pci: MgmtDevInfo = {
  name: 'pci/0000:65:00.2',
  busName: 'pci',
  devName: '0000:65:00.2',
  supportedClasses: 1n << 1n,
  classIds: [1],
  maxSupportedVqs: 17,
  // CSUM | MQ | VERSION_1 | RING_PACKED | bit 40 | bit 49 | SPEED_DUPLEX
  supportedFeatures:
    (1n << 0n) | (1n << 22n) | (1n << 32n) | (1n << 34n) | (1n << 40n) | (1n << 49n) | (1n << 63n),
};

describe('mgmtdev show (§3.1)', () => {
  it('prints one mgmtdev in text, -j and -jp', () => {
    expect(render('text', 'mgmtdev', (p) => printMgmtdev(p, simNet))).toBe(
      'vdpasim_net: \n  supported_classes net\n  max_supported_vqs 3\n  dev_features MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR ANY_LAYOUT VERSION_1 ACCESS_PLATFORM\n',
    );
    expect(render('json', 'mgmtdev', (p) => printMgmtdev(p, simNet))).toBe(
      '{"mgmtdev":{"vdpasim_net":{"supported_classes":["net"],"max_supported_vqs":3,"dev_features":["MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM"]}}}\n',
    );
    expect(render('pretty', 'mgmtdev', (p) => printMgmtdev(p, simNet))).toBe(
      [
        '{',
        '    "mgmtdev": {',
        '        "vdpasim_net": {',
        '            "supported_classes": [ "net" ],',
        '            "max_supported_vqs": 3,',
        '            "dev_features": [ "MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM" ]',
        '        }',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('prints a dump with an empty feature array', () => {
    const both = (p: VdpaPrinter): void => {
      printMgmtdev(p, simNet);
      printMgmtdev(p, simBlk);
    };
    expect(render('text', 'mgmtdev', both)).toBe(
      'vdpasim_net: \n  supported_classes net\n  max_supported_vqs 3\n  dev_features MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR ANY_LAYOUT VERSION_1 ACCESS_PLATFORM\n' +
        'vdpasim_blk: \n  supported_classes block\n  max_supported_vqs 0\n  dev_features\n',
    );
    expect(render('json', 'mgmtdev', both)).toBe(
      '{"mgmtdev":{"vdpasim_net":{"supported_classes":["net"],"max_supported_vqs":3,"dev_features":["MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM"]},"vdpasim_blk":{"supported_classes":["block"],"max_supported_vqs":0,"dev_features":[]}}}\n',
    );
    expect(render('pretty', 'mgmtdev', (p) => printMgmtdev(p, simBlk))).toBe(
      '{\n    "mgmtdev": {\n        "vdpasim_blk": {\n            "supported_classes": [ "block" ],\n            "max_supported_vqs": 0,\n            "dev_features": [ ]\n        }\n    }\n}\n',
    );
  });

  it('prints a bus handle and unknown bits as bit_N in text and N in JSON', () => {
    expect(render('text', 'mgmtdev', (p) => printMgmtdev(p, pci))).toBe(
      'pci/0000:65:00.2: \n  supported_classes net\n  max_supported_vqs 17\n  dev_features CSUM MQ VERSION_1 RING_PACKED bit_40 bit_49 SPEED_DUPLEX\n',
    );
    expect(render('json', 'mgmtdev', (p) => printMgmtdev(p, pci))).toBe(
      '{"mgmtdev":{"pci/0000:65:00.2":{"supported_classes":["net"],"max_supported_vqs":17,"dev_features":["CSUM","MQ","VERSION_1","RING_PACKED",40,49,"SPEED_DUPLEX"]}}}\n',
    );
  });

  it('names block bits bit_N (no block table) and unknown classes', () => {
    const blk: MgmtDevInfo = {
      ...simBlk,
      supportedClasses: (1n << 2n) | (1n << 5n),
      supportedFeatures: 0x308007646n,
    };
    expect(render('text', 'mgmtdev', (p) => printMgmtdev(p, blk))).toBe(
      'vdpasim_blk: \n  supported_classes block < unknown class >\n  max_supported_vqs 0\n  dev_features bit_1 bit_2 bit_6 bit_9 bit_10 bit_12 bit_13 bit_14 bit_27 VERSION_1 ACCESS_PLATFORM\n',
    );
  });
});

const vdpa0: VdpaDevInfo = {
  name: 'vdpa0',
  mgmtdev: 'vdpasim_net',
  deviceId: 1,
  vendorId: 0,
  maxVqs: 3,
  maxVqSize: 256,
  minVqSize: 1,
};
const vdpa1: VdpaDevInfo = {
  name: 'vdpa1',
  mgmtdev: 'vdpasim_blk',
  deviceId: 2,
  vendorId: 0,
  maxVqs: 1,
  maxVqSize: 256,
  minVqSize: 1,
};

describe('dev show (§3.2)', () => {
  it('prints devices in text, -j and -jp', () => {
    const both = (p: VdpaPrinter): void => {
      printDev(p, vdpa0);
      printDev(p, vdpa1);
    };
    expect(render('text', 'dev', both)).toBe(
      'vdpa0: type network mgmtdev vdpasim_net vendor_id 0 max_vqs 3 max_vq_size 256\nvdpa1: type block mgmtdev vdpasim_blk vendor_id 0 max_vqs 1 max_vq_size 256\n',
    );
    expect(render('json', 'dev', both)).toBe(
      '{"dev":{"vdpa0":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256},"vdpa1":{"type":"block","mgmtdev":"vdpasim_blk","vendor_id":0,"max_vqs":1,"max_vq_size":256}}}\n',
    );
    expect(render('pretty', 'dev', (p) => printDev(p, vdpa0))).toBe(
      '{\n    "dev": {\n        "vdpa0": {\n            "type": "network",\n            "mgmtdev": "vdpasim_net",\n            "vendor_id": 0,\n            "max_vqs": 3,\n            "max_vq_size": 256\n        }\n    }\n}\n',
    );
  });

  it('prints nothing in text and an empty section in JSON without devices', () => {
    expect(render('text', 'dev', () => undefined)).toBe('');
    expect(render('json', 'dev', () => undefined)).toBe('{"dev":{}}\n');
    expect(render('pretty', 'dev', () => undefined)).toBe('{\n    "dev": {}\n}\n');
  });
});

const mac = new Uint8Array([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
const configBefore: VdpaDevConfigInfo = {
  name: 'vdpa0',
  deviceId: 1,
  net: { deviceFeatures: 0x308830028n, mac, status: 1, mtu: 9000 },
};
const configAfter: VdpaDevConfigInfo = { ...configBefore, negotiatedFeatures: 0x300830028n };

describe('dev config show (§3.3)', () => {
  it('prints negotiated features after FEATURES_OK', () => {
    expect(render('text', 'config', (p) => printDevConfig(p, configAfter))).toBe(
      'vdpa0: mac 00:11:22:33:44:55 link up link_announce false mtu 9000 \n  negotiated_features MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR VERSION_1 ACCESS_PLATFORM\n',
    );
    expect(render('json', 'config', (p) => printDevConfig(p, configAfter))).toBe(
      '{"config":{"vdpa0":{"mac":"00:11:22:33:44:55","link ":"up","link_announce ":false,"mtu":9000,"negotiated_features":["MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","VERSION_1","ACCESS_PLATFORM"]}}}\n',
    );
    expect(render('pretty', 'config', (p) => printDevConfig(p, configAfter))).toBe(
      [
        '{',
        '    "config": {',
        '        "vdpa0": {',
        '            "mac": "00:11:22:33:44:55",',
        '            "link ": "up",',
        '            "link_announce ": false,',
        '            "mtu": 9000,',
        '            "negotiated_features": [ "MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","VERSION_1","ACCESS_PLATFORM" ]',
        '        }',
        '    }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('omits negotiated features before FEATURES_OK', () => {
    expect(render('text', 'config', (p) => printDevConfig(p, configBefore))).toBe(
      'vdpa0: mac 00:11:22:33:44:55 link up link_announce false mtu 9000 \n',
    );
    expect(render('json', 'config', (p) => printDevConfig(p, configBefore))).toBe(
      '{"config":{"vdpa0":{"mac":"00:11:22:33:44:55","link ":"up","link_announce ":false,"mtu":9000}}}\n',
    );
  });

  it('prints only the handle of a block device', () => {
    const blk: VdpaDevConfigInfo = { name: 'vdpa1', deviceId: 2 };
    const both = (p: VdpaPrinter): void => {
      printDevConfig(p, configAfter);
      printDevConfig(p, blk);
    };
    expect(render('text', 'config', both)).toBe(
      'vdpa0: mac 00:11:22:33:44:55 link up link_announce false mtu 9000 \n  negotiated_features MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR VERSION_1 ACCESS_PLATFORM\nvdpa1: \n',
    );
    expect(render('pretty', 'config', both)).toContain('        },\n        "vdpa1": {}\n    }\n}\n');
  });

  it('prints max_vq_pairs, announce and an empty negotiated array', () => {
    const vdpa2: VdpaDevConfigInfo = {
      name: 'vdpa2',
      deviceId: 1,
      negotiatedFeatures: 0n,
      net: {
        deviceFeatures: 0n,
        mac: new Uint8Array([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]),
        status: 3,
        maxVqPairs: 8,
      },
    };
    expect(render('text', 'config', (p) => printDevConfig(p, vdpa2))).toBe(
      'vdpa2: mac 52:54:00:ab:cd:ef link up link_announce true max_vq_pairs 8 \n  negotiated_features\n',
    );
    expect(render('json', 'config', (p) => printDevConfig(p, vdpa2))).toBe(
      '{"config":{"vdpa2":{"mac":"52:54:00:ab:cd:ef","link ":"up","link_announce ":true,"max_vq_pairs":8,"negotiated_features":[]}}}\n',
    );
  });
});

describe('dev vstats show (§3.4)', () => {
  const stats = (queueIndex: number, names: string[], values: number[]): VdpaDevVstats => ({
    name: 'vdpa0',
    deviceId: 1,
    negotiatedFeatures: 0x300830028n,
    queueIndex,
    stats: names.map((name, i) => ({ name, value: BigInt(values[i]) })),
  });

  it('prints the quirky queue types and vendor counters with trailing spaces', () => {
    const rx = stats(
      0,
      ['rx packets', 'rx bytes', 'rx errors', 'rx overruns', 'rx drops'],
      [12, 1404, 0, 0, 0],
    );
    expect(render('text', 'vstats', (p) => printDevVstats(p, rx))).toBe(
      'vdpa0: queue_type control_vq rx packets 12 rx bytes 1404 rx errors 0 rx overruns 0 rx drops 0 \n',
    );
    expect(render('json', 'vstats', (p) => printDevVstats(p, rx))).toBe(
      '{"vstats":{"vdpa0":{"queue_type":"control_vq","rx packets":12,"rx bytes":1404,"rx errors":0,"rx overruns":0,"rx drops":0}}}\n',
    );
    const tx = stats(1, ['tx packets', 'tx bytes', 'tx errors', 'tx drops'], [12, 1404, 0, 0]);
    expect(render('text', 'vstats', (p) => printDevVstats(p, tx))).toBe(
      'vdpa0: queue_type tx tx packets 12 tx bytes 1404 tx errors 0 tx drops 0 \n',
    );
    expect(render('pretty', 'vstats', (p) => printDevVstats(p, tx))).toBe(
      '{\n    "vstats": {\n        "vdpa0": {\n            "queue_type": "tx",\n            "tx packets": 12,\n            "tx bytes": 1404,\n            "tx errors": 0,\n            "tx drops": 0\n        }\n    }\n}\n',
    );
    const cvq = stats(2, ['cvq requests', 'cvq successes', 'cvq errors'], [3, 3, 0]);
    expect(render('json', 'vstats', (p) => printDevVstats(p, cvq))).toBe(
      '{"vstats":{"vdpa0":{"queue_type":"rx","cvq requests":3,"cvq successes":3,"cvq errors":0}}}\n',
    );
  });

  it('classifies queues like print_queue_type', () => {
    const ctrl = 1n << 17n;
    expect(queueType(ctrl, 4, 8)).toBe('control_vq');
    expect(queueType(ctrl, 4, 7)).toBe('tx');
    expect(queueType(0n, 0, 0)).toBe('rx');
    expect(queueType(ctrl, 0, 0)).toBe('control_vq');
  });

  it('keeps all 64 bits of a counter', () => {
    const big = stats(1, ['tx bytes'], [0]);
    const huge: VdpaDevVstats = { ...big, stats: [{ name: 'tx bytes', value: (1n << 64n) - 1n }] };
    expect(render('json', 'vstats', (p) => printDevVstats(p, huge))).toContain(
      '"tx bytes":18446744073709551615',
    );
  });
});
