// The search's lookahead (Finalists.walk): the plans it hands out ahead change nothing the
// walk counts or returns, each plan is handed out before it is planned, and batches do form.
import { estimatePlan } from '../../application/estimate';
import { loadCatalog, resolveGpu, resolveModel } from '../../catalog/catalog';
import { PlanRequestInput } from '../request/normalize';
import { PlansAhead, walkedAhead } from './plan-walk';
import { searchLayouts, SearchInput, SearchResult, searchWalk } from './search';

const catalog = loadCatalog();
const LOOKAHEAD = 3;

function contextOf(input: SearchInput) {
  return {
    arch: resolveModel(catalog, input.model as string),
    gpu: resolveGpu(catalog, input.cluster.gpu),
  };
}

/** The walk one plan at a time, and the order it planned in. */
function walked(input: SearchInput): { found: SearchResult; planned: string[] } {
  const planned: string[] = [];
  const plan = (request: PlanRequestInput) => {
    planned.push(JSON.stringify(request));
    return estimatePlan(request, catalog);
  };
  return { found: searchLayouts(input, plan, contextOf(input)), planned };
}

/** The walk with its lookahead: what it planned, what it handed out, and each batch's size. */
async function lookingAhead(input: SearchInput, lookahead = LOOKAHEAD) {
  const handedOut = new Set<string>();
  const batches: number[] = [];
  const planned: string[] = [];
  const notHandedOut: string[] = [];
  const plan = (request: PlanRequestInput) => {
    const key = JSON.stringify(request);
    planned.push(key);
    if (!handedOut.has(key)) notHandedOut.push(key);
    return estimatePlan(request, catalog);
  };
  const simulate = async (inputs: PlansAhead) => {
    batches.push(inputs.length);
    inputs.forEach((request) => handedOut.add(JSON.stringify(request)));
  };
  const context = contextOf(input);
  const found = await walkedAhead(searchWalk(input, plan, context, lookahead), simulate);
  return { found, planned, notHandedOut, batches };
}

const SEARCHES: [string, SearchInput][] = [
  [
    'throughput, pruned',
    {
      model: 'llama-3-8b',
      cluster: { gpu: 'h100-80gb', gpus: 16, gpusPerNode: 8 },
      training: { method: 'full', sequenceLength: 4096 },
    },
  ],
  [
    'throughput, exhaustive',
    {
      model: 'llama-3-8b',
      cluster: { gpu: 'h100-80gb', gpus: 16, gpusPerNode: 8 },
      training: { method: 'full', sequenceLength: 4096 },
      exhaustive: true,
    },
  ],
  [
    'headroom',
    {
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-40gb', gpus: 8, gpusPerNode: 8 },
      training: { method: 'full', sequenceLength: 4096 },
      objective: 'headroom',
      top: 5,
    },
  ],
];

describe.each(SEARCHES)('searchLayoutsAhead: %s', (_name, input) => {
  it('answers exactly as the walk one plan at a time, planning the same plans in order', async () => {
    const one = walked(input);
    const ahead = await lookingAhead(input);
    expect(ahead.found).toEqual(one.found);
    expect(ahead.planned).toEqual(one.planned);
  });

  it('hands out every plan before planning it, at most LOOKAHEAD at once', async () => {
    const ahead = await lookingAhead(input);
    expect(ahead.notHandedOut).toEqual([]);
    expect(Math.max(...ahead.batches)).toBeLessThanOrEqual(LOOKAHEAD);
  });
});

it('hands out each plan alone before planning it with a lookahead of one (one thread)', async () => {
  const ahead = await lookingAhead(SEARCHES[0][1], 1);
  expect(ahead.notHandedOut).toEqual([]);
  expect(new Set(ahead.batches)).toEqual(new Set([1]));
});

it('hands out several plans at once where the walk can tell they come next', async () => {
  const { batches } = await lookingAhead(SEARCHES[1][1]);
  expect(batches.some((size) => size > 1)).toBe(true);
});
