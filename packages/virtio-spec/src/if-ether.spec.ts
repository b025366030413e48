import { describe, expect, it } from 'vitest';
import {
  ETH_ALEN,
  ETH_DATA_LEN,
  ETH_DEST_OFFSET,
  ETH_FRAME_LEN,
  ETH_HLEN,
  ETH_P_802_EX1,
  ETH_SOURCE_OFFSET,
  ETH_TYPE_OFFSET,
  ETH_ZLEN,
} from './if-ether.js';

describe('if_ether.h', () => {
  it('lays struct ethhdr out as destination, source, EtherType', () => {
    expect(ETH_DEST_OFFSET).toBe(0);
    expect(ETH_DEST_OFFSET + ETH_ALEN).toBe(ETH_SOURCE_OFFSET);
    expect(ETH_SOURCE_OFFSET + ETH_ALEN).toBe(ETH_TYPE_OFFSET);
    expect(ETH_TYPE_OFFSET + 2).toBe(ETH_HLEN);
  });

  it('has the kernel lengths', () => {
    expect([ETH_ALEN, ETH_HLEN, ETH_ZLEN, ETH_DATA_LEN, ETH_FRAME_LEN]).toEqual([6, 14, 60, 1500, 1514]);
    expect(ETH_HLEN + ETH_DATA_LEN).toBe(ETH_FRAME_LEN);
    expect(ETH_P_802_EX1).toBe(0x88b5);
  });
});
