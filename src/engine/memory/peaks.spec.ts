// Reading peaks off a timeline: the running total of live bytes, its high point per class of
// moments from the steady-state step on, and what each component held then. The log below is
// written by hand; every expected figure is the running sum worked out beside its events.
import { Component, COMPONENT_INDEX, EventLog, Moment } from './autograd/events';
import { classPeaks, readPeak } from './peaks';

const K = 512; // one block; sizes below are in blocks

function log(): EventLog {
  const events = new EventLog();
  let key = 0;
  const keys = new Map<string, number>();
  const at = (step: number, phase: Moment['phase'], what: string) =>
    events.mark({ step, phase, layer: phase === 'optimizer' ? -1 : 0, microBatch: 0, what });
  const alloc = (name: string, blocks: number, component: Component) => {
    keys.set(name, ++key);
    events.push(1, key, blocks * K, COMPONENT_INDEX[component], 0);
  };
  const free = (name: string, blocks: number, component: Component) =>
    events.push(-1, keys.get(name)!, blocks * K, COMPONENT_INDEX[component], 0);
  at(0, 'build', 'model');
  alloc('w', 20, 'weights'); // 20
  for (const step of [1, 2]) {
    const states = step === 1 ? 10 : 0; // created at the first step only
    at(step, 'forward', 'layer');
    alloc('a1', 8, 'activations'); // step 1: 28; step 2: 38
    alloc('a2', 4, 'activations'); // 32; 42
    at(step, 'backward', 'layer');
    alloc('g', 6, 'gradients'); // 38; 48
    free('a1', 8, 'activations'); // 30; 40
    free('a2', 4, 'activations'); // 26; 36
    events.push(0, 0, 0, 0, 0); // torch.cuda.empty_cache(): nothing live changes
    at(step, 'optimizer', 'optimizer step');
    if (states) alloc('s', states, 'optimizerStates'); // 36; -
    alloc('t', 5, 'buffers'); // 41; 41
    free('t', 5, 'buffers'); // 36; 36
    at(step, 'optimizer', 'zero_grad');
    free('g', 6, 'gradients'); // 30; 30
  }
  return events;
}

const live = (blocks: Partial<Record<Component, number>>) =>
  Float64Array.from(
    (Object.keys(COMPONENT_INDEX) as Component[]).map((name) => (blocks[name] ?? 0) * K),
  );

describe('classPeaks', () => {
  const byPhase = classPeaks(log(), 2, (m) => m.phase);

  it('keeps only the steady state: no build, no first step (its optimizer makes states)', () => {
    expect([...byPhase.keys()].sort()).toEqual(['backward', 'forward', 'optimizer']);
    expect(byPhase.get('forward')!.moment.step).toBe(2);
  });

  it('reads each class at its highest running total, with what each component held then', () => {
    expect(byPhase.get('forward')!.bytes).toBe(42 * K);
    expect(byPhase.get('forward')!.live).toEqual(
      live({ weights: 20, optimizerStates: 10, activations: 12 }),
    );
    expect(byPhase.get('backward')!.bytes).toBe(48 * K);
    expect(byPhase.get('backward')!.live).toEqual(
      live({ weights: 20, optimizerStates: 10, activations: 12, gradients: 6 }),
    );
    expect(byPhase.get('optimizer')!.bytes).toBe(41 * K);
    expect(byPhase.get('optimizer')!.live).toEqual(
      live({ weights: 20, optimizerStates: 10, gradients: 6, buffers: 5 }),
    );
  });

  it('counts the level a moment starts at for its class, though it only frees', () => {
    const byWhat = classPeaks(log(), 2, (m) => m.what);
    // zero_grad starts at 36 (what the optimizer step left) and only frees.
    expect(byWhat.get('zero_grad')!.bytes).toBe(36 * K);
    expect(byWhat.get('zero_grad')!.live).toEqual(
      live({ weights: 20, optimizerStates: 10, gradients: 6 }),
    );
  });

  it('with the first step included, finds its higher optimizer moment', () => {
    const fromFirst = classPeaks(log(), 1, (m) => `${m.step}|${m.phase}`);
    // Step 1's optimizer: 26 + 10 states + 5 temporaries.
    expect(fromFirst.get('1|optimizer')!.bytes).toBe(41 * K);
    expect(fromFirst.get('1|forward')!.bytes).toBe(32 * K);
  });
});

describe('readPeak', () => {
  it('names the highest moment, its breakdown and each phase high point', () => {
    const peak = readPeak(log(), 2);
    expect(peak.allocatedPeakBytes).toBe(48 * K);
    expect(peak.moment).toEqual({
      step: 2,
      phase: 'backward',
      layer: 0,
      microBatch: 0,
      what: 'layer',
    });
    expect(peak.breakdown).toEqual({
      weights: 20 * K,
      gradients: 6 * K,
      optimizerStates: 10 * K,
      masterWeights: 0,
      activations: 12 * K,
      logitsAndLoss: 0,
      buffers: 0,
    });
    expect(peak.phaseTotals).toEqual({ forward: 42 * K, backward: 48 * K, optimizer: 41 * K });
  });
});
