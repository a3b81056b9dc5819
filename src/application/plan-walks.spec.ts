// Advice and gpus-needed run as walks (engine plan-walk.ts): each plan they make is handed out
// before it is planned, so the simulation threads have simulated it, and walking ahead answers
// as walking through.
import { loadCatalog } from '../catalog/catalog';
import {
  compareWalk,
  PlanRequestInput,
  PlansAhead,
  PlanWalk,
  walkedAhead,
  walkedThrough,
} from '../engine';
import { estimateWithAdviceWalk } from './advice';
import * as estimate from './estimate';
import { gpusNeededWalk } from './gpus-needed';

const catalog = loadCatalog();

/** The walk's answer ahead, and the plans it made that it had not handed out first. */
async function walkedRecording<T>(walk: PlanWalk<T>) {
  const handedOut = new Set<string>();
  const notHandedOut: string[] = [];
  let batches = 0;
  const original = estimate.estimatePlan;
  jest.spyOn(estimate, 'estimatePlan').mockImplementation((input, c) => {
    const key = JSON.stringify(input);
    if (!handedOut.has(key)) notHandedOut.push(key);
    return original(input, c);
  });
  const simulate = async (inputs: PlansAhead) => {
    batches += 1;
    inputs.forEach((input) => handedOut.add(JSON.stringify(input)));
  };
  try {
    return { answer: await walkedAhead(walk, simulate), notHandedOut, batches };
  } finally {
    jest.restoreAllMocks();
  }
}

// A plan that does not fit: advice scans, stacks, searches the same GPUs and more.
const NOT_FITTING: PlanRequestInput = {
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-40gb', nodes: 1, gpusPerNode: 2 },
  training: { sequenceLength: 4096 },
};

describe('walks that hand out what they plan', () => {
  it('compare: every row handed out at once, and the answer of walking through', async () => {
    const run = (input: PlanRequestInput) => estimate.estimatePlan(input, catalog);
    const walk = () => compareWalk(NOT_FITTING, { vary: 'zeroStage' }, run);
    const through = walkedThrough(walk());
    const ahead = await walkedRecording(walk());
    expect(ahead.notHandedOut).toEqual([]);
    expect(ahead.batches).toBe(1);
    expect(ahead.answer).toEqual(through);
  });

  it('advice: every plan handed out first, and the answer of walking through', async () => {
    const through = walkedThrough(estimateWithAdviceWalk(NOT_FITTING, catalog));
    expect(through.advice!.length).toBeGreaterThan(0);
    const ahead = await walkedRecording(estimateWithAdviceWalk(NOT_FITTING, catalog, 3));
    expect(ahead.notHandedOut).toEqual([]);
    expect(ahead.batches).toBeGreaterThan(10);
    expect(ahead.answer).toEqual(through);
  }, 120_000);

  it('gpus-needed: every plan handed out first, and the answer of walking through', async () => {
    const request = {
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-40gb', maxGpus: 16 },
      training: { sequenceLength: 4096 },
    };
    const through = walkedThrough(gpusNeededWalk(request, catalog));
    expect(through.fewest).not.toBeNull();
    const ahead = await walkedRecording(gpusNeededWalk(request, catalog, 3));
    expect(ahead.notHandedOut).toEqual([]);
    expect(ahead.answer).toEqual(through);
  }, 120_000);
});
