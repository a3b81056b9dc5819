import { parseArgs, requestFromFlags } from './args';
import { nodeChoice, searchInputOf } from './search-input';

function searchOf(argv: string[]) {
  const args = parseArgs(argv);
  return searchInputOf(requestFromFlags(args.planFlags), args);
}

describe('nodeChoice', () => {
  it('reads a count, a list and an inclusive range', () => {
    expect(nodeChoice(2)).toBe(2);
    expect(nodeChoice('1,2,4')).toEqual([1, 2, 4]);
    expect(nodeChoice('1-4')).toEqual({ min: 1, max: 4 });
    expect(nodeChoice('many')).toBe('many');
  });
});

describe('searchInputOf', () => {
  it("turns the flags into the body of POST /plans/search, the search's knobs as numbers", () => {
    expect(
      searchOf(
        (
          'search --model llama-3-70b --gpu h100-80gb --nodes 1-4 --gpus-per-node 8 --seq 8192 ' +
          '--objective cost --top 5 --max-mb 4 --global-batch 64 --allow-offload --exhaustive ' +
          '--name x --tags a'
        ).split(' '),
      ),
    ).toEqual({
      model: 'llama-3-70b',
      cluster: { gpu: 'h100-80gb', nodes: { min: 1, max: 4 }, gpusPerNode: 8 },
      training: { sequenceLength: 8192 },
      objective: 'cost',
      top: 5,
      maxMicroBatchSize: 4,
      globalBatchSize: 64,
      allowOffload: true,
      exhaustive: true,
    });
  });

  it('takes a GPU count instead of nodes, and one node by default', () => {
    expect(searchOf(['search', '--model', 'm', '--gpu', 'g', '--gpus', '16']).cluster).toEqual({
      gpu: 'g',
      gpus: 16,
    });
    expect(searchOf(['search', '--model', 'm', '--gpu', 'g']).cluster).toEqual({
      gpu: 'g',
      nodes: 1,
    });
  });

  it('passes settings the search chooses on as given, for the search to name as unused', () => {
    const search = searchOf(['search', '--model', 'm', '--gpu', 'g', '--tp', '2', '--mb', '4']);
    expect(search.parallelism).toEqual({ tensorParallel: 2 });
    expect(search.training).toEqual({ microBatchSize: 4 });
  });
});
