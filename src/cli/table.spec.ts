import { progressLine } from './progress';
import { Advice, MEMORY_COMPONENTS, PlanResult, RankMemory } from '../engine';
import {
  renderAdvice,
  renderBreakdown,
  renderBudget,
  renderFieldErrors,
  renderTable,
} from './table';

const GIB = 1024 ** 3;

/** A rank with the figures the table reads; 1 + 2 + 0.5 + 0.5 GiB of components on a 4 GiB use. */
function rank(stage: number): RankMemory {
  return {
    label: `stage ${stage}`,
    stage,
    layers: 1,
    allocatedPeakBytes: 3.5 * GIB,
    reservedPeakBytes: 3.5 * GIB,
    deviceUsedBytes: 4 * GIB,
    capacityBytes: 16 * GIB,
    headroomBytes: 11 * GIB,
    fits: true,
    peakPhase: 'backward',
    dominantComponent: 'optimizerStates',
    breakdown: {
      weights: 1 * GIB,
      gradients: 0,
      optimizerStates: 2 * GIB,
      masterWeights: 0,
      activations: 0.5 * GIB,
      logitsAndLoss: 0,
      buffers: 0,
      runtimeOverhead: 0.5 * GIB,
    },
    phaseTotals: { forward: 0, backward: 0, optimizer: 0 },
    modelStateBytes: 3 * GIB,
    breakdownGiB: {},
  };
}

describe('renderTable', () => {
  it('pads every column to its widest cell, right-aligns where asked, and rules the header', () => {
    const text = renderTable(
      ['component', 'per GPU'],
      [
        ['weights', '1.87 GiB'],
        ['optimizerStates', '11.2 GiB'],
      ],
      ['left', 'right'],
    );
    expect(text.split('\n')).toEqual([
      'component         per GPU',
      '---------------  --------',
      'weights          1.87 GiB',
      'optimizerStates  11.2 GiB',
    ]);
  });

  it('prints only the header and rule for an empty table', () => {
    expect(renderTable(['a', 'bb'], [])).toBe('a  bb\n-  --');
  });
});

describe('renderBreakdown', () => {
  it("gives one rank each component's share of the device's use", () => {
    const lines = renderBreakdown([rank(0)]).split('\n');
    expect(lines[0]).toMatch(/^component\s+per GPU\s+share$/);
    expect(lines).toContainEqual(expect.stringMatching(/^weights\s+1\.00 GiB\s+25%$/));
    expect(lines).toContainEqual(expect.stringMatching(/^optimizerStates\s+2\.00 GiB\s+50%$/));
    expect(lines).toContainEqual(expect.stringMatching(/^headroom\s+11\.0 GiB$/));
  });

  it("lists the components in the vocabulary's order, leaving out those no rank holds", () => {
    const named = renderBreakdown([rank(0)])
      .split('\n')
      .slice(2)
      .map((line) => line.split(/\s+/)[0]);
    const held = Object.keys(rank(0).breakdown);
    expect(named.slice(0, held.length)).toEqual(MEMORY_COMPONENTS.filter((c) => held.includes(c)));
    expect(named).not.toContain('kvCache');
  });

  it('gives each pipeline stage its own column', () => {
    const header = renderBreakdown([rank(0), rank(1)]).split('\n')[0];
    expect(header).toMatch(/^component\s+stage 0\s+stage 1$/);
  });
});

describe('renderFieldErrors', () => {
  it('lists field errors one per line, as the API names them', () => {
    expect(
      renderFieldErrors([
        {
          field: 'parallelism.tensorParallel',
          message: 'tensorParallel (3) must divide num_attention_heads (32)',
        },
        { field: '', message: 'something general' },
      ]),
    ).toBe(
      '  parallelism.tensorParallel: tensorParallel (3) must divide num_attention_heads (32)\n  something general',
    );
  });
});

describe('progressLine', () => {
  it('fills the bar in proportion: 140 of 400 is 35%, 10.5 of 30 cells rounded to 11', () => {
    expect(progressLine(140, 400)).toBe(
      `[${'#'.repeat(11)}${'.'.repeat(19)}]  35% 140/400 layouts`,
    );
  });

  it('is empty before anything is known and full at the end', () => {
    expect(progressLine(0, 0, 4)).toBe('[....]   0% 0/0 layouts');
    expect(progressLine(7, 7, 4)).toBe('[####] 100% 7/7 layouts');
  });
});

describe('renderBreakdown with a range', () => {
  it('adds the 80% range and the verdict under device used', () => {
    const ranged = { ...rank(0), deviceUsedRangeBytes: [3.75 * GIB, 4.5 * GIB], verdict: 'fits' };
    const lines = renderBreakdown([ranged as RankMemory]).split('\n');
    expect(lines.find((l) => l.startsWith('80% range'))).toMatch(/3\.75–4\.50 GiB$/);
    expect(lines.find((l) => l.startsWith('verdict'))).toMatch(/fits$/);
  });
});

describe('renderBudget and renderAdvice', () => {
  it('writes tokens, GPU-hours, days and cost in one row', () => {
    const result = {
      request: { training: { tokensToTrain: 2e9 }, cluster: { gpu: 'h100-80gb' } },
      layout: { gpus: 8 },
      cost: { gpuHours: 1234.5, wallClockDays: 6.43, totalUsd: 3320.8 },
    } as unknown as PlanResult;
    expect(renderBudget(result).split('\n')[2]).toMatch(
      /^2\.00 B\s+8 x h100-80gb\s+1\.2 k\s+6\.4 days\s+\$3,321$/,
    );
  });

  it('numbers advice best first and marks what changes the job', () => {
    const text = renderAdvice([
      { rank: 1, changesJob: false, sentence: 'ZeRO stage 3.' },
      { rank: 2, changesJob: true, sentence: 'Sequence length 1024.' },
    ] as Advice[]);
    expect(text.split('\n').slice(1)).toEqual([
      '  1. ZeRO stage 3.',
      '  2. [changes the job] Sequence length 1024.',
    ]);
  });
});
