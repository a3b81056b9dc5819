// Pipeline splits and schedules, written out from the frameworks' own code: torchtitan's
// _generate_llm_fqn_per_model_part, torch.distributed.pipelining's Schedule1F1B /
// ScheduleInterleaved1F1B, Megatron-Core's interleaved warm-up.
import { stageLabel, virtualStageSpans } from '../model/placement';
import {
  ChunkRole,
  inFlightMoments,
  InFlightMoment,
  PipelineAction,
  rankActions,
  rankChunks,
  ScheduleShape,
  truncateSchedule,
} from './schedule';

const written = (actions: PipelineAction[]) =>
  actions.map((a) => `${a.chunk}${a.kind}${a.microBatch}`).join(' ');

const shape = (over: Partial<ScheduleShape>): ScheduleShape => ({
  schedule: '1f1b',
  ranks: 4,
  chunks: 1,
  microBatches: 8,
  runtime: 'pytorch',
  ...over,
});

describe('splitting the layers into stages', () => {
  const torchtitan = { firstStageLessLayers: 1, lastStageLessLayers: 1 };

  it('Llama-3.1-405B (126 layers) in 8 x 2 virtual stages: (126 + 1 + 1) / 16 = 8 each, the ends one layer fewer', () => {
    const spans = virtualStageSpans(126, 16, torchtitan);
    expect(spans.map((s) => s.layers)).toEqual([7, ...Array(14).fill(8), 7]);
    expect(spans[0].hasEmbedding && spans[15].hasHead).toBe(true);
    expect(spans[15].firstLayer).toBe(7 + 14 * 8);
  });

  it('31 layers on 4 stages: 33 effective = 8 x 4 + 1, the remainder to the first stage', () => {
    // stage 0: 8 + 1 - 1 (embedding) = 8; stages 1, 2: 8; stage 3: 8 - 1 (head) = 7
    expect(virtualStageSpans(31, 4, torchtitan).map((s) => s.layers)).toEqual([8, 8, 8, 7]);
  });

  it("Megatron's even split (no weights): 32 layers on 4 stages are 8 each", () => {
    const even = virtualStageSpans(32, 4, { firstStageLessLayers: 0, lastStageLessLayers: 0 });
    expect(even.map((s) => s.layers)).toEqual([8, 8, 8, 8]);
  });

  it('refuses more stages than effective layers', () => {
    expect(() => virtualStageSpans(2, 8, torchtitan)).toThrow(/empty/);
  });

  it('a rank holds virtual stages r, r + p, ... (the loop placement)', () => {
    const spans = virtualStageSpans(126, 16, torchtitan);
    expect(rankChunks(spans, 8, 3).map((s) => s.stage)).toEqual([3, 11]);
  });

  it('80 layers on 64 stages: 82 effective, so the last stage holds the head alone, and says so', () => {
    // 82 = 64 + 18: the first 18 stages take two effective layers (stage 0: the embedding and
    // layer 0), the other 46 one each, which leaves the head's weight for the last.
    const spans = virtualStageSpans(80, 64, torchtitan);
    const last = spans[63];
    expect([last.layers, last.hasHead]).toEqual([0, true]);
    expect(stageLabel(last, 64, 'output head and loss')).toBe(
      'pipeline stage 63 of 64 (no layers, output head and loss)',
    );
    expect(stageLabel(spans[1], 64)).toBe('pipeline stage 1 of 64 (layers 1-2)');
  });
});

describe('the order each rank runs its micro-batches', () => {
  it('1F1B: min(m, p - rank) warm-up forwards, then backward-forward pairs, then the rest', () => {
    expect(written(rankActions(shape({}), 0))).toBe(
      '0F0 0F1 0F2 0F3 0B0 0F4 0B1 0F5 0B2 0F6 0B3 0F7 0B4 0B5 0B6 0B7',
    );
    expect(written(rankActions(shape({}), 3))).toBe(
      '0F0 0B0 0F1 0B1 0F2 0B2 0F3 0B3 0F4 0B4 0F5 0B5 0F6 0B6 0F7 0B7',
    );
  });

  it('GPipe: every forward, then every backward', () => {
    expect(written(rankActions(shape({ schedule: 'gpipe', microBatches: 3 }), 1))).toBe(
      '0F0 0F1 0F2 0B0 0B1 0B2',
    );
  });

  it('interleaved (PyTorch): rounds of m / (m // p) micro-batches, warm-up (v - 1) rounds + 2 (p - 1 - rank)', () => {
    // p = 2, v = 2, m = 4: rounds of 2; rank 0 warms up with 2 + 2 = 4 forwards (chunk 0 twice,
    // chunk 1 twice), then F and B alternate, backwards taking chunk 1 before chunk 0.
    const interleaved = shape({ schedule: 'interleaved', ranks: 2, chunks: 2, microBatches: 4 });
    expect(written(rankActions(interleaved, 0))).toBe(
      '0F0 0F1 1F0 1F1 0F2 1B0 0F3 1B1 1F2 0B0 1F3 0B1 1B2 1B3 0B2 0B3',
    );
    // rank 1: 2 warm-up forwards, then the pairs
    expect(written(rankActions(interleaved, 1))).toBe(
      '0F0 0F1 1F0 1B0 1F1 1B1 0F2 0B0 0F3 0B1 1F2 1B2 1F3 1B3 0B2 0B3',
    );
  });

  it('interleaved (Megatron) with m = p runs every forward before any backward', () => {
    const megatron = shape({ schedule: 'interleaved', ranks: 2, chunks: 2, microBatches: 2 });
    const actions = rankActions({ ...megatron, runtime: 'megatron' }, 1);
    expect(written(actions)).toBe('0F0 0F1 1F0 1F1 1B0 1B1 0B0 0B1');
  });
});

describe('what a rank holds for its micro-batches in flight', () => {
  const middle = (layers: number): ChunkRole => ({ layers, receives: true, sends: true });
  const most = (moments: InFlightMoment[]) => Math.max(...moments.map((m) => m.layers));

  it('1F1B: rank r keeps min(m, p - r) micro-batches of its layers (its warm-up forwards)', () => {
    expect(most(inFlightMoments(shape({}), 0, [middle(10)]))).toBe(4 * 10);
    expect(most(inFlightMoments(shape({}), 2, [middle(10)]))).toBe(2 * 10);
    expect(most(inFlightMoments(shape({}), 3, [middle(10)]))).toBe(10);
    expect(most(inFlightMoments(shape({ microBatches: 2 }), 0, [middle(10)]))).toBe(2 * 10);
  });

  it('GPipe keeps every micro-batch; one rank alone keeps one at a time', () => {
    const gpipe = shape({ schedule: 'gpipe', microBatches: 3 });
    expect(most(inFlightMoments(gpipe, 1, [middle(7)]))).toBe(3 * 7);
    expect(most(inFlightMoments(shape({ ranks: 1 }), 0, [middle(32)]))).toBe(32);
  });

  it('counts outputs kept, input gradients left and whether a backward has run', () => {
    // Rank 0 of 4, m = 8: '0F0 0F1 0F2 0F3 0B0 0F4 ...'. After 0F3: four outputs kept, no
    // backward yet; after 0B0 and 0F4: four again, one input gradient left on its buffer.
    const moments = inFlightMoments(shape({}), 0, [middle(10)]);
    expect(moments[3]).toEqual({
      layers: 40,
      sentOutputs: 4,
      inputGradients: 0,
      afterBackward: false,
    });
    expect(moments[5]).toEqual({
      layers: 40,
      sentOutputs: 4,
      inputGradients: 1,
      afterBackward: true,
    });
    // The first stage receives nothing and the last sends nothing.
    const first = inFlightMoments(shape({}), 0, [{ layers: 10, receives: false, sends: true }]);
    expect(first[first.length - 1].inputGradients).toBe(0);
    const last = inFlightMoments(shape({}), 3, [{ layers: 10, receives: true, sends: false }]);
    expect(last[last.length - 1]).toMatchObject({ sentOutputs: 0, inputGradients: 8 });
  });

  it('interleaved: each live micro-batch counts its own chunk', () => {
    // Rank 0 of the PyTorch order above, chunks of 5 and 3 layers: after 0F3 chunk 0 holds
    // micro-batches 0-3 (4 x 5) and chunk 1 micro-batch 1 (3), the most at any moment.
    const interleaved = shape({ schedule: 'interleaved', ranks: 2, chunks: 2, microBatches: 4 });
    expect(most(inFlightMoments(interleaved, 0, [middle(5), middle(3)]))).toBe(4 * 5 + 3);
  });
});

describe('simulating only what the steady state needs', () => {
  it('1F1B, 16 stages, 128 micro-batches, rank 0: 16 warm-ups + 2 steady pairs = 18 micro-batches', () => {
    const cut = truncateSchedule(shape({ ranks: 16, microBatches: 128 }), 0);
    expect(cut.microBatches).toBe(18);
    expect(cut.omitted).toBe(110);
    // the gap follows the warm-up (16) and two backward-forward pairs (4)
    expect(cut.gapAt).toBe(20);
    expect(written(cut.actions.slice(16, 22))).toBe('0B0 0F16 0B1 0F17 0B2 0B3');
  });

  it('the cut run is the full run with a stretch of its steady state taken out', () => {
    const full = rankActions(shape({ ranks: 16, microBatches: 128 }), 5);
    const cut = truncateSchedule(shape({ ranks: 16, microBatches: 128 }), 5);
    const kinds = (actions: PipelineAction[]) => actions.map((a) => a.kind).join('');
    const removed = full.length - cut.actions.length;
    expect(kinds(cut.actions)).toBe(
      kinds([...full.slice(0, cut.gapAt), ...full.slice(cut.gapAt + removed)]),
    );
    expect(kinds(full.slice(cut.gapAt, cut.gapAt + removed))).toBe('BF'.repeat(removed / 2));
  });

  it('interleaved, 8 ranks x 2 chunks, 64 micro-batches: whole rounds of 8 are kept', () => {
    const cut = truncateSchedule(
      shape({ schedule: 'interleaved', ranks: 8, chunks: 2, microBatches: 64 }),
      0,
    );
    // warm-up 8 + 14 = 22 forwards and two periods of 2 chunks x 8 pairs need 22 + 32 = 54
    // forwards of 2 m: 24 micro-batches give 48, 32 give 64
    expect(cut.microBatches).toBe(32);
    expect(cut.microBatches % 8).toBe(0);
  });

  it('GPipe keeps every micro-batch: all their forwards are in flight at once', () => {
    expect(truncateSchedule(shape({ schedule: 'gpipe', microBatches: 12 }), 0).omitted).toBe(0);
  });
});
