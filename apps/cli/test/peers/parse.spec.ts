// The peer harness's parsers, on output captured from DPDK 22.11 testpmd and the peer-test guest.
// These run in the default suite; the peer runs themselves need VDPA_KIT_PEER_TESTS (docs/peers.md).
import { describe, expect, test } from 'vitest';
import { parseGuestConsole, parseTestpmdOutput, stripTerminal } from './parse.js';
import { peerTestMode } from './peer-env.js';
import { runThenStop } from './settle.js';
import { median } from './testpmd.js';

const ESC = '\x1b';

/** A periodic statistics sample as testpmd prints it with --stats-period (screen cleared first). */
function sample(rx: number, rxPps: number, txPps: number): string {
  return [
    `${ESC}[2J${ESC}[1;1H`,
    'Port statistics ====================================',
    '  ######################## NIC statistics for port 0  ########################',
    `  RX-packets: ${rx}    RX-missed: 0          RX-bytes:  ${rx * 64}`,
    '  RX-errors: 0',
    '  RX-nombuf:  0         ',
    `  TX-packets: ${rx + 32}    TX-errors: 0          TX-bytes:  ${(rx + 32) * 64}`,
    '',
    '  Throughput (since last show)',
    `  Rx-pps:      ${rxPps}          Rx-bps:    602440072`,
    `  Tx-pps:      ${txPps}          Tx-bps:    602435296`,
    '  ############################################################################',
  ].join('\n');
}

const FINAL_ONE_QUEUE = `Telling cores to stop...
Waiting for lcores to finish...

  ---------------------- Forward statistics for port 0  ----------------------
  RX-packets: 7376736        RX-dropped: 0             RX-total: 7376736
  TX-packets: 7376768        TX-dropped: 0             TX-total: 7376768
  ----------------------------------------------------------------------------

  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++
  RX-packets: 7376736        RX-dropped: 0             RX-total: 7376736
  TX-packets: 7376768        TX-dropped: 0             TX-total: 7376768
  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++

Done.
`;

const FINAL_TWO_QUEUES = `Telling cores to stop...
Waiting for lcores to finish...

  ------- Forward Stats for RX Port= 0/Queue= 0 -> TX Port= 0/Queue= 0 -------
  RX-packets: 1142208        TX-packets: 1142240        TX-dropped: 0             

  ------- Forward Stats for RX Port= 0/Queue= 1 -> TX Port= 0/Queue= 1 -------
  RX-packets: 1142784        TX-packets: 1142816        TX-dropped: 3             

  ---------------------- Forward statistics for port 0  ----------------------
  RX-packets: 2284992        RX-dropped: 0             RX-total: 2284992
  TX-packets: 2285056        TX-dropped: 3             TX-total: 2285059
  ----------------------------------------------------------------------------

  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++
  RX-packets: 2284992        RX-dropped: 0             RX-total: 2284992
  TX-packets: 2285056        TX-dropped: 3             TX-total: 2285059
  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++

Done.
`;

describe('parseTestpmdOutput', () => {
  test('reads the accumulated forward statistics, not the periodic NIC statistics', () => {
    const out = `${sample(352, 0, 0)}\n${sample(1783008, 1176631, 1176640)}\n${sample(5313984, 1197323, 1197334)}\n${FINAL_ONE_QUEUE}`;
    expect(parseTestpmdOutput(out)).toEqual({
      rxPackets: 7376736,
      rxDropped: 0,
      txPackets: 7376768,
      txDropped: 0,
      streams: [],
      rxPps: [0, 1176631, 1197323],
      txPps: [0, 1176640, 1197334],
    });
  });

  test('reads every stream of a multi-queue run', () => {
    const r = parseTestpmdOutput(FINAL_TWO_QUEUES);
    expect(r?.rxPackets).toBe(2284992);
    expect(r?.txDropped).toBe(3);
    expect(r?.streams).toEqual([
      { rxQueue: 0, txQueue: 0, rxPackets: 1142208, txPackets: 1142240, txDropped: 0 },
      { rxQueue: 1, txQueue: 1, rxPackets: 1142784, txPackets: 1142816, txDropped: 3 },
    ]);
  });

  test('sums the per-port blocks when there is no accumulated block', () => {
    const perPort = FINAL_TWO_QUEUES.slice(0, FINAL_TWO_QUEUES.indexOf('  +++'));
    const two = `${perPort}${perPort.replace(/port 0/g, 'port 1')}`;
    expect(parseTestpmdOutput(two)?.rxPackets).toBe(2 * 2284992);
  });

  test('is undefined when testpmd never printed forward statistics', () => {
    expect(parseTestpmdOutput(`EAL: Detected CPU lcores: 2\n${sample(10, 5, 5)}`)).toBeUndefined();
  });
});

const GUEST_CONSOLE = [
  `c${ESC}[?7l${ESC}[2JSeaBIOS (version 1.16.2-debian-1.16.2-1)`,
  'Booting from ROM...',
  `c${ESC}[?7l${ESC}[2JVU-INIT: uptime=2.96 loading virtio modules`,
  'VU-INIT: eth0 driver=virtio_net mac=52:54:00:00:00:01 features=1110010111100111111101',
  'VU-INIT: link up uptime=4.30',
  'VU-STATS: iface=eth0 rx_packets=5 tx_packets=5 rx_bytes=1710 tx_bytes=1710 rx_dropped=0 tx_dropped=0 rx_errors=0 tx_errors=0\r',
  'VU-DONE: uptime=10.88',
  '[   10.883310] reboot: Power down',
].join('\r\n');

describe('parseGuestConsole', () => {
  test("reads the guest's own eth0 counters and its boot milestones", () => {
    expect(parseGuestConsole(GUEST_CONSOLE)).toEqual({
      stats: {
        rx_packets: 5,
        tx_packets: 5,
        rx_bytes: 1710,
        tx_bytes: 1710,
        rx_dropped: 0,
        tx_dropped: 0,
        rx_errors: 0,
        tx_errors: 0,
      },
      driver: 'virtio_net',
      link: 'up',
      doneUptime: 10.88,
      errors: [],
    });
  });

  test('reports what is missing when the guest never got its NIC', () => {
    const r = parseGuestConsole(
      'VU-INIT: uptime=2.5 loading virtio modules\nVU-ERROR: no eth0\nVU-DONE: uptime=12.5\n',
    );
    expect(r.stats).toBeUndefined();
    expect(r.driver).toBeUndefined();
    expect(r.errors).toEqual(['VU-ERROR: no eth0']);
    expect(r.doneUptime).toBe(12.5);
  });
});

test('stripTerminal removes escapes and carriage returns only', () => {
  expect(stripTerminal(`${ESC}[2J${ESC}[1;1HRX-packets: 5\r\n${ESC}c`)).toBe('RX-packets: 5\n');
});

test('median of samples', () => {
  expect(median([])).toBe(0);
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(3);
});

test('VDPA_KIT_PEER_TESTS: unset all, empty/0 off, anchor, anything else all', () => {
  expect(peerTestMode({})).toBe('all');
  expect(peerTestMode({ VDPA_KIT_PEER_TESTS: '' })).toBe('off');
  expect(peerTestMode({ VDPA_KIT_PEER_TESTS: '0' })).toBe('off');
  expect(peerTestMode({ VDPA_KIT_PEER_TESTS: 'anchor' })).toBe('anchor');
  expect(peerTestMode({ VDPA_KIT_PEER_TESTS: '1' })).toBe('all');
});

describe('runThenStop', () => {
  test('stops every peer in order and returns their results', async () => {
    const order: string[] = [];
    const r = await runThenStop<[number, string]>(async () => {
      order.push('body');
    }, [async () => (order.push('a'), 1), async () => (order.push('b'), 'b')]);
    expect(r).toEqual([1, 'b']);
    expect(order).toEqual(['body', 'a', 'b']);
  });

  test("still stops every peer when the body fails, and throws the body's error", async () => {
    const stopped: string[] = [];
    await expect(
      runThenStop<[void, void]>(async () => {
        throw new Error('no forwarding');
      }, [
        async () => {
          stopped.push('a');
          throw new Error('no statistics');
        },
        async () => {
          stopped.push('b');
        },
      ]),
    ).rejects.toThrow('no forwarding');
    expect(stopped).toEqual(['a', 'b']);
  });
});
