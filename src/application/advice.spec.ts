import { loadCatalog } from '../catalog/catalog';
import { Advice, PlanRequestInput, PlanResult } from '../engine';
import { adviseOn, compareAdvice, estimateWithAdvice, withChanges } from './advice';
import { estimatePlan } from './estimate';

const GIB = 1024 ** 3;
const catalog = loadCatalog();

/** Plans that do not fit, the first: 121 GiB of QLoRA activations on a 45 GiB L40S. */
const FAILING: Record<string, PlanRequestInput> = {
  "the issue's Llama-3.1-70B QLoRA at 2,048 tokens on one L40S": {
    model: 'llama-3.1-70b',
    cluster: { gpu: 'l40s' },
    training: { method: 'qlora', sequenceLength: 2048 },
  },
  'Llama-3-8B, micro-batch 4 at 4,096 tokens, DDP on 8 x A100-80GB': {
    model: 'llama-3-8b',
    cluster: { gpu: 'a100-80gb', gpusPerNode: 8 },
    training: { sequenceLength: 4096, microBatchSize: 4 },
  },
  'Llama-3-70B at 8,192 tokens, ZeRO-3 on 8 x H100': {
    model: 'llama-3-70b',
    cluster: { gpu: 'h100-80gb', gpusPerNode: 8 },
    training: { sequenceLength: 8192 },
    parallelism: { zeroStage: 3 },
  },
  'Llama-3-8B full fine-tuning on one RTX 4090': {
    model: 'llama-3-8b',
    cluster: { gpu: 'rtx-4090' },
  },
};

/** Sequences per optimizer step: micro-batch x accumulation x data-parallel ranks. */
function globalBatch(result: PlanResult): number {
  const { microBatchSize, gradientAccumulationSteps } = result.request.training;
  return microBatchSize * gradientAccumulationSteps * result.layout.dataParallel;
}

describe('advice for plans that do not fit', () => {
  const planned = Object.entries(FAILING).map(
    ([name, input]) => [name, input, estimateWithAdvice(input, catalog)] as const,
  );

  it.each(planned)(
    '%s: does not fit, and its first advice sent back as a request fits',
    (_name, _input, result) => {
      expect(result.memory.perGpu.fits).toBe(false);
      expect(result.memory.perGpu.verdict).toBe('does not fit');
      const advice = result.advice!;
      expect(advice.length).toBeGreaterThan(0);
      const again = estimatePlan(advice[0].request, catalog);
      expect(again.memory.perGpu.fits).toBe(true);
      expect(again.memory.perGpu.deviceUsedBytes).toBe(advice[0].figures.deviceUsedBytes);
      expect(again.cost.usdPerMillionTokens).toBe(advice[0].figures.usdPerMillionTokens);
    },
  );

  it.each(planned)(
    '%s: every piece fits, is ranked by the rule, and says what it changes',
    (_name, _input, result) => {
      const advice = result.advice!;
      expect(advice.map((a) => a.rank)).toEqual(advice.map((_, i) => i + 1));
      for (const [a, b] of advice.slice(1).map((x, i) => [advice[i], x])) {
        expect(compareAdvice(a, b)).toBeLessThanOrEqual(0);
      }
      for (const piece of advice) {
        expect(piece.figures.verdict === 'fits' || piece.figures.verdict === 'tight').toBe(true);
        expect(Object.keys(piece.changes).length).toBeGreaterThan(0);
        expect(piece.sentence).toContain(`${(piece.figures.deviceUsedBytes / GIB).toFixed(1)} GiB`);
        expect(piece.changesJob).toBe(piece.kind === 'sequence-length');
      }
    },
  );

  it.each(planned)(
    '%s: keeps the job: the same sequences per step of the same length unless it says so',
    (_name, _input, result) => {
      for (const piece of result.advice!) {
        const again = estimatePlan(piece.request, catalog);
        if (piece.changesJob) {
          expect(again.request.training.sequenceLength).toBeLessThan(
            result.request.training.sequenceLength,
          );
          continue;
        }
        expect([piece.kind, again.request.training.sequenceLength]).toEqual([
          piece.kind,
          result.request.training.sequenceLength,
        ]);
        expect([piece.kind, globalBatch(again)]).toEqual([piece.kind, globalBatch(result)]);
      }
    },
  );

  it("the issue's plan: checkpointing alone (about 48 GiB) is no advice on a 45 GiB card", () => {
    const [, , result] = planned[0];
    // nvidia-smi shows 46,068 MiB (45.0 GiB); less the 1 GiB safety margin, 44 GiB are usable.
    expect(result.memory.perGpu.capacityBytes).toBe(46_068 * 2 ** 20);
    const usable = 46_068 * 2 ** 20 - GIB;
    const checkpointed = estimatePlan(
      withChanges(FAILING[planned[0][0]], { 'training.activationCheckpointing': 'full' }),
      catalog,
    ).memory.perGpu;
    expect(checkpointed.deviceUsedBytes).toBeGreaterThan(usable);
    const kinds = result.advice!.map((a) => a.kind);
    expect(kinds).not.toContain('activation-checkpointing');
    // The longest halving of the sequence that fits is advised: the next longer one does not.
    const sequence = result.advice!.find((a) => a.kind === 'sequence-length')!;
    const advised = sequence.request.training.sequenceLength;
    const at = (length: number) =>
      estimatePlan(
        withChanges(FAILING[planned[0][0]], { 'training.sequenceLength': length }),
        catalog,
      ).memory.perGpu;
    expect(at(advised).deviceUsedBytes).toBeLessThanOrEqual(usable);
    expect(at(advised * 2).deviceUsedBytes).toBeGreaterThan(usable);
    expect(sequence.sentence).toMatch(
      new RegExp(`^Sequence length ${advised} instead of 2048: this changes the job`),
    );
  });

  it('keeps the global batch when it trades micro-batch for accumulation: 4 x 1 x 8 = 1 x 4 x 8', () => {
    const [, , result] = planned[1];
    const combined = result.advice!.find((a) => a.changes['training.microBatchSize'] === 1)!;
    expect(combined.changes['training.gradientAccumulationSteps']).toBe(4);
    expect(combined.sentence).toContain('the same 32 sequences per optimizer step');
  });

  it('finds a layout on the same GPUs that fits clearly, past cheaper ones that are tight', () => {
    // Two L40S and micro-batch 4 do not fit; the cheapest layouts of the two fit only at the
    // estimate, and a two-stage pipeline with one sequence fits with room.
    const result = estimateWithAdvice(
      {
        model: 'llama-3.1-70b',
        cluster: { gpu: 'l40s', nodes: 1, gpusPerNode: 2 },
        training: { method: 'qlora', sequenceLength: 2048, microBatchSize: 4 },
      },
      catalog,
    );
    const layout = result.advice!.find((a) => a.kind === 'layout')!;
    expect(layout.request.cluster.gpusPerNode * layout.request.cluster.nodes).toBe(2);
    expect(estimatePlan(layout.request, catalog).memory.perGpu.verdict).toBe('fits');
  });

  it('offers CPU offload only where the host holds 1.5x what moves there, and says when it cannot tell', () => {
    for (const [, , result] of planned) {
      for (const piece of result.advice!.filter(
        (a) => a.request.parallelism.offload.optimizer === 'cpu',
      )) {
        const again = estimatePlan(piece.request, catalog);
        const gpu = catalog.findGpu(piece.request.cluster.gpu)!;
        // The reference node's host memory in this node's share of its 8 GPUs.
        const host = (gpu.hostMemoryBytes! * piece.request.cluster.gpusPerNode) / 8;
        expect(again.memory.hostPerNodeBytes * 1.5).toBeLessThanOrEqual(host);
      }
    }
    const [, , rtx] = planned[3];
    expect(rtx.advice!.some((a) => a.request.parallelism.offload.optimizer === 'cpu')).toBe(false);
    expect(rtx.warnings).toContain(
      "advice leaves out CPU offload: the GPU catalog gives no host memory per node for 'rtx-4090' to check it against",
    );
  });
});

describe('advice for tight and fitting plans', () => {
  it('asks a tight plan for room at the top of its range: every piece has the verdict fits', () => {
    // ZeRO-3 on 8 x A100-80GB at 6,144 tokens: fits at the estimate, not at the top of the
    // multi-GPU range.
    const input: PlanRequestInput = {
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb', gpusPerNode: 8 },
      training: { sequenceLength: 6144 },
      parallelism: { zeroStage: 3 },
    };
    const result = estimateWithAdvice(input, catalog);
    expect(result.memory.perGpu.verdict).toBe('tight');
    expect(result.advice!.length).toBeGreaterThan(0);
    for (const piece of result.advice!) expect(piece.figures.verdict).toBe('fits');
  });

  it('gives none to a plan that fits, and none to a serving plan', () => {
    const fits = estimateWithAdvice(
      { model: 'llama-3.2-1b', cluster: { gpu: 'h100-80gb' } },
      catalog,
    );
    expect(fits.memory.perGpu.verdict).toBe('fits');
    expect(fits.advice).toEqual([]);
    const serving: PlanRequestInput = {
      model: 'llama-3-70b',
      cluster: { gpu: 'l4' },
      workload: 'inference',
    };
    const result = estimatePlan(serving, catalog);
    expect(result.memory.perGpu.fits).toBe(false);
    expect(adviseOn(serving, result, catalog).advice).toEqual([]);
  });
});

describe('withChanges and compareAdvice', () => {
  it('sets dotted fields on a copy of the request as sent', () => {
    const input: PlanRequestInput = { model: 'gpt-2', cluster: { gpu: 'l4' } };
    const changed = withChanges(input, {
      'training.microBatchSize': 2,
      'parallelism.offload.optimizer': 'cpu',
    });
    expect(changed).toEqual({
      model: 'gpt-2',
      cluster: { gpu: 'l4' },
      training: { microBatchSize: 2 },
      parallelism: { offload: { optimizer: 'cpu' } },
    });
    expect(input).toEqual({ model: 'gpt-2', cluster: { gpu: 'l4' } });
  });

  it('ranks fits before tight, the same training before approximations before another job, then by price and step', () => {
    const piece = (
      verdict: 'fits' | 'tight',
      effect: Advice['effect'],
      usd: number,
      step: number,
    ) =>
      ({
        effect,
        figures: { verdict, usdPerMillionTokens: usd, stepTimeSeconds: step },
      }) as Omit<Advice, 'rank'>;
    const ordered = [
      piece('fits', 'same-training', 2, 9),
      piece('fits', 'approximates-training', 1, 1),
      piece('fits', 'changes-job', 0.5, 1),
      piece('tight', 'same-training', 0.1, 1),
    ];
    expect([...ordered].reverse().sort(compareAdvice)).toEqual(ordered);
    const cheaper = piece('fits', 'same-training', 1, 9);
    const faster = piece('fits', 'same-training', 1, 2);
    expect([cheaper, faster, ordered[0]].sort(compareAdvice)).toEqual([
      faster,
      cheaper,
      ordered[0],
    ]);
  });
});
