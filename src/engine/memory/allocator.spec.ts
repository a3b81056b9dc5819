// Hand-worked cases of the caching allocator's rules (c10/cuda/CUDACachingAllocator.cpp).
import {
  allocationSize,
  AllocatorOutOfMemoryError,
  CachingAllocator,
  roundSize,
  SegmentEvent,
} from './allocator';

const KiB = 1024;
const MiB = 1024 * KiB;

/** An allocator that keeps its segment events for the test to read. */
function recording(options: ConstructorParameters<typeof CachingAllocator>[0] = {}) {
  const events: SegmentEvent[] = [];
  const allocator = new CachingAllocator({ ...options, onSegment: (event) => events.push(event) });
  const opened = () => events.filter((e) => e.action !== 'segment_free').map((e) => e.bytes);
  return { allocator, events, opened };
}

describe('roundSize (round_size) and allocationSize (get_allocation_size)', () => {
  it('rounds requests up to 512 bytes, at least 512', () => {
    expect(roundSize(1)).toBe(512);
    expect(roundSize(512)).toBe(512);
    expect(roundSize(513)).toBe(1024); // 2 x 512
    expect(roundSize(1_000_000)).toBe(1_000_448); // ceil(1e6 / 512) = 1954; 1954 x 512
  });

  it('packs <= 1 MiB in 2 MiB, 1-10 MiB in 20 MiB, and rounds larger to 2 MiB', () => {
    expect(allocationSize(512)).toBe(2 * MiB);
    expect(allocationSize(1 * MiB)).toBe(2 * MiB); // kSmallSize is still small
    expect(allocationSize(1 * MiB + 512)).toBe(20 * MiB);
    expect(allocationSize(10 * MiB - 512)).toBe(20 * MiB); // below kMinLargeAlloc
    expect(allocationSize(10 * MiB)).toBe(10 * MiB);
    expect(allocationSize(25 * MiB)).toBe(26 * MiB); // 12.5 x 2 MiB -> 13 x 2 MiB
  });
});

describe('CachingAllocator', () => {
  it('puts a 600 KiB request in a 2 MiB small segment and packs the next ones after it', () => {
    const { allocator, opened } = recording();
    allocator.malloc(1, 600 * KiB);
    expect(opened()).toEqual([2 * MiB]);
    expect(allocator.allocatedBytes).toBe(600 * KiB); // 600 KiB = 1200 x 512, no rounding
    allocator.malloc(2, 600 * KiB); // 2048 - 600 = 1448 KiB left: fits
    allocator.malloc(3, 600 * KiB); // 1448 - 600 = 848 KiB left: fits
    expect(opened()).toEqual([2 * MiB]);
    allocator.malloc(4, 600 * KiB); // 848 - 600 = 248 KiB left: too small, a second segment
    expect(opened()).toEqual([2 * MiB, 2 * MiB]);
    expect(allocator.reservedBytes).toBe(4 * MiB);
  });

  it('gives 5 MiB a 20 MiB segment and a following 12 MiB request the 15 MiB remainder', () => {
    const { allocator, opened } = recording();
    allocator.malloc(1, 5 * MiB); // 20 - 5 = 15 MiB remain, more than 1 MiB: split
    allocator.malloc(2, 12 * MiB); // best fit: the 15 MiB block; 3 MiB remain: split again
    expect(opened()).toEqual([20 * MiB]);
    expect(allocator.allocatedBytes).toBe(17 * MiB); // 5 + 12
    expect(allocator.reservedBytes).toBe(20 * MiB);
  });

  it('gives 25 MiB a 26 MiB segment and keeps the 1 MiB slack with the block', () => {
    const { allocator, opened } = recording();
    allocator.malloc(1, 25 * MiB);
    expect(opened()).toEqual([26 * MiB]);
    // should_split (large pool): 26 - 25 = 1 MiB is not more than kSmallSize: no split.
    expect(allocator.allocatedBytes).toBe(26 * MiB);
  });

  it('splits a large block only when more than 1 MiB would remain', () => {
    const whole = recording();
    whole.allocator.malloc(1, 19 * MiB); // 20 MiB segment, 1 MiB remains: not split
    expect(whole.allocator.allocatedBytes).toBe(20 * MiB);

    const split = recording();
    split.allocator.malloc(1, 19 * MiB - 512); // 1 MiB + 512 remains: split
    expect(split.allocator.allocatedBytes).toBe(19 * MiB - 512);
    split.allocator.malloc(2, 1 * MiB + 512); // the large pool's remainder fits it exactly
    expect(split.opened()).toEqual([20 * MiB]);
  });

  it('splits a small block down to 512 bytes', () => {
    const { allocator, opened } = recording();
    allocator.malloc(1, 1 * MiB); // 2 MiB segment, 1 MiB remains
    allocator.malloc(2, 1 * MiB - 512); // 512 remain, >= kMinBlockSize: split
    expect(allocator.allocatedBytes).toBe(2 * MiB - 512);
    allocator.malloc(3, 100); // rounds to 512: the last 512 bytes of the segment
    expect(opened()).toEqual([2 * MiB]);
    expect(allocator.allocatedBytes).toBe(2 * MiB);
  });

  it('merges a freed block with its free neighbours', () => {
    const { allocator, opened } = recording();
    allocator.malloc(1, 5 * MiB);
    allocator.malloc(2, 5 * MiB);
    allocator.malloc(3, 5 * MiB); // [1: 5][2: 5][3: 5][free: 5] in one 20 MiB segment
    allocator.free(2); // free 5 MiB between 1 and 3: no neighbour to merge with
    allocator.free(3); // merges with 2 before it and the 5 MiB after it: 15 MiB free
    allocator.malloc(4, 12 * MiB); // fits the merged 15 MiB block: no new segment
    expect(opened()).toEqual([20 * MiB]);
    allocator.free(1);
    allocator.free(4); // everything merges back into one 20 MiB block
    allocator.malloc(5, 20 * MiB);
    expect(opened()).toEqual([20 * MiB]);
  });

  it('takes the smallest free block that fits, the lowest address among equals', () => {
    const addresses = [400 * MiB, 100 * MiB, 300 * MiB];
    const allocator = new CachingAllocator({ segmentAddress: () => addresses.shift() });
    allocator.malloc(1, 30 * MiB); // at 400 MiB
    allocator.malloc(2, 30 * MiB); // at 100 MiB
    allocator.malloc(3, 40 * MiB); // at 300 MiB
    [1, 2, 3].forEach((id) => allocator.free(id));
    expect(allocator.malloc(4, 28 * MiB).address).toBe(100 * MiB); // 30 MiB blocks: lower one
    expect(allocator.malloc(5, 28 * MiB).address).toBe(400 * MiB);
    expect(allocator.malloc(6, 31 * MiB).address).toBe(300 * MiB); // only 40 MiB fits
  });

  it('keeps a pool per stream: a block freed on one stream is not reused on another', () => {
    const { allocator, opened } = recording();
    allocator.malloc(1, 5 * MiB, 0);
    allocator.free(1);
    allocator.malloc(2, 5 * MiB, 7); // stream 7 cannot take stream 0's cached 20 MiB
    expect(opened()).toEqual([20 * MiB, 20 * MiB]);
    allocator.malloc(3, 5 * MiB, 0); // stream 0 reuses its own
    expect(opened()).toEqual([20 * MiB, 20 * MiB]);
    expect(allocator.reservedBytes).toBe(40 * MiB);
  });

  it('frees whole cached segments and retries when cudaMalloc would exceed the capacity', () => {
    const { allocator, events } = recording({ capacityBytes: 64 * MiB });
    allocator.malloc(1, 5 * MiB); // 20 MiB segment, split: 15 MiB free in it
    allocator.malloc(2, 30 * MiB); // 30 MiB segment
    allocator.free(2); // reserved 50 MiB, 30 of it a whole free segment
    allocator.malloc(3, 40 * MiB); // 50 + 40 > 64: release the whole 30 MiB segment, retry
    expect(events.map((e) => [e.action, e.bytes])).toEqual([
      ['segment_alloc', 20 * MiB],
      ['segment_alloc', 30 * MiB],
      ['segment_free', 30 * MiB], // the split 20 MiB segment stays: block 1 lives in it
      ['segment_alloc', 40 * MiB],
    ]);
    expect(allocator.reservedBytes).toBe(60 * MiB);
    expect(allocator.peakReservedBytes).toBe(60 * MiB);
    // 16 MiB: the cached 15 MiB is too small, 60 + 16 > 64 and nothing whole is free.
    expect(() => allocator.malloc(4, 16 * MiB)).toThrow(AllocatorOutOfMemoryError);
  });

  it('empty_cache releases whole free segments only', () => {
    const { allocator } = recording();
    allocator.malloc(1, 5 * MiB); // 20 MiB segment, stays split
    allocator.malloc(2, 600 * KiB); // 2 MiB small segment
    allocator.free(2);
    allocator.emptyCache();
    expect(allocator.reservedBytes).toBe(20 * MiB);
    expect(allocator.segmentCount).toBe(1);
    allocator.free(1);
    allocator.emptyCache();
    expect(allocator.reservedBytes).toBe(0);
    expect(allocator.peakReservedBytes).toBe(22 * MiB);
  });

  describe('max_split_size', () => {
    const maxSplitSizeBytes = 100 * MiB;

    it('keeps oversize blocks for requests within 20 MiB of them, unsplit', () => {
      const { allocator, opened } = recording({ maxSplitSizeBytes });
      allocator.malloc(1, 200 * MiB);
      allocator.free(1);
      allocator.malloc(2, 50 * MiB); // below max_split_size: the 200 MiB block is refused
      allocator.malloc(3, 190 * MiB); // 200 < 190 + 20: taken whole
      expect(opened()).toEqual([200 * MiB, 50 * MiB]);
      expect(allocator.allocatedBytes).toBe(250 * MiB); // 50 + 200
      allocator.free(3);
      allocator.malloc(4, 150 * MiB); // 200 >= 150 + 20: refused, a new segment
      expect(opened()).toEqual([200 * MiB, 50 * MiB, 150 * MiB]);
    });

    it('releases one oversize cached block that covers a failing request', () => {
      const { allocator, events } = recording({ maxSplitSizeBytes, capacityBytes: 400 * MiB });
      allocator.malloc(1, 200 * MiB);
      allocator.free(1);
      allocator.malloc(2, 150 * MiB); // 200 >= 170: a new segment; reserved 350
      allocator.malloc(3, 120 * MiB); // 350 + 120 > 400: free the 200 MiB block, then fits
      expect(events.map((e) => [e.action, e.bytes])).toEqual([
        ['segment_alloc', 200 * MiB],
        ['segment_alloc', 150 * MiB],
        ['segment_free', 200 * MiB],
        ['segment_alloc', 120 * MiB],
      ]);
      expect(allocator.reservedBytes).toBe(270 * MiB);
    });

    it('else releases oversize cached blocks from the largest down', () => {
      const { allocator, events } = recording({ maxSplitSizeBytes, capacityBytes: 500 * MiB });
      allocator.malloc(1, 120 * MiB);
      allocator.malloc(2, 130 * MiB);
      allocator.free(1);
      allocator.free(2);
      allocator.malloc(3, 300 * MiB); // 250 + 300 > 500; no one block covers 300 MiB
      expect(events.map((e) => [e.action, e.bytes])).toEqual([
        ['segment_alloc', 120 * MiB],
        ['segment_alloc', 130 * MiB],
        ['segment_free', 130 * MiB],
        ['segment_free', 120 * MiB],
        ['segment_alloc', 300 * MiB],
      ]);
    });
  });

  describe('expandable segments', () => {
    it('grows one segment per pool and stream in 20 MiB pages', () => {
      const { allocator, events } = recording({ expandableSegments: true });
      allocator.malloc(1, 5 * MiB); // maps one 20 MiB page; 15 MiB stay free, mapped
      allocator.malloc(2, 30 * MiB); // 15 free + 15 more needed -> one more 20 MiB page
      expect(events.map((e) => [e.action, e.bytes])).toEqual([
        ['segment_map', 20 * MiB],
        ['segment_map', 20 * MiB],
      ]);
      expect(allocator.reservedBytes).toBe(40 * MiB); // separate segments would hold 20 + 30
      expect(allocator.segmentCount).toBe(1);
      allocator.malloc(3, 5 * MiB); // the last 40 - 35 = 5 MiB
      expect(allocator.reservedBytes).toBe(40 * MiB);
    });

    it('maps small-pool memory in 2 MiB pages, in a segment of its own', () => {
      const { allocator } = recording({ expandableSegments: true });
      allocator.malloc(1, 600 * KiB);
      allocator.malloc(2, 5 * MiB);
      expect(allocator.reservedBytes).toBe(22 * MiB); // 2 MiB page + 20 MiB page
      expect(allocator.segmentCount).toBe(2);
    });

    it('unmaps free pages on empty_cache and drops a segment left with none', () => {
      const { allocator, events } = recording({ expandableSegments: true });
      allocator.malloc(1, 5 * MiB);
      allocator.malloc(2, 30 * MiB); // [1: 5][2: 30][free: 5] over two pages
      allocator.free(2); // 35 MiB free from 5 MiB on: the second page (20-40 MiB) is whole
      allocator.emptyCache();
      expect(events.at(-1)).toMatchObject({ action: 'segment_unmap', bytes: 20 * MiB });
      expect(allocator.reservedBytes).toBe(20 * MiB);
      allocator.free(1);
      allocator.emptyCache();
      expect(allocator.reservedBytes).toBe(0);
      expect(allocator.segmentCount).toBe(0);
    });
  });

  it('refuses an id twice, a free of an id it does not hold, and empty requests', () => {
    const allocator = new CachingAllocator();
    allocator.malloc(1, 512);
    expect(() => allocator.malloc(1, 512)).toThrow(/already allocated/);
    expect(() => allocator.free(2)).toThrow(/not allocated/);
    expect(() => allocator.malloc(3, 0)).toThrow(RangeError); // torch never allocates 0 bytes
    expect(() => allocator.malloc(3, NaN)).toThrow(RangeError);
  });

  it('takes ids that number allocations: whole, from 0, below 2^31', () => {
    const allocator = new CachingAllocator();
    expect(() => allocator.malloc(-1, 512)).toThrow(RangeError);
    expect(() => allocator.malloc(1.5, 512)).toThrow(RangeError);
    expect(() => allocator.malloc(2 ** 31, 512)).toThrow(RangeError);
    allocator.malloc(0, 512);
    allocator.malloc(70_000, 512); // ids need not be consecutive
    expect(allocator.allocatedBytes).toBe(1024);
    allocator.free(0);
    expect(() => allocator.free(0)).toThrow(/not allocated/);
    expect(() => allocator.free(-1)).toThrow(/not allocated/);
  });
});
