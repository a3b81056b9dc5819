import { CliUsageError, parseArgs, requestFromFlags } from './args';

function usageErrors(action: () => unknown): { field: string; message: string }[] {
  try {
    action();
  } catch (error) {
    if (error instanceof CliUsageError) return error.errors;
    throw error;
  }
  throw new Error('expected a CliUsageError');
}

describe('parseArgs', () => {
  it('separates the command, plan flags and tool flags, in both --flag value and --flag=value forms', () => {
    const parsed = parseArgs([
      'plan',
      '--model',
      'llama-3-8b',
      '--gpu=a100-80gb',
      '--json',
      '--server',
      'http://x:3000',
    ]);
    expect(parsed.positionals).toEqual(['plan']);
    expect(parsed.planFlags).toEqual({ model: 'llama-3-8b', gpu: 'a100-80gb' });
    expect(parsed.toolFlags).toEqual({ json: true, server: 'http://x:3000' });
  });

  it('keeps file arguments of subcommands as positionals', () => {
    expect(parseArgs(['models', 'add', 'config.json', '--id', 'mine']).positionals).toEqual([
      'models',
      'add',
      'config.json',
    ]);
  });

  it('names every unknown option and every option left without a value', () => {
    const errors = usageErrors(() => parseArgs(['plan', '--modle', 'x', '--tp']));
    expect(errors).toEqual([
      { field: 'modle', message: 'unknown option --modle; see shardplan --help' },
      { field: 'parallelism.tensorParallel', message: '--tp needs a value' },
    ]);
  });
});

describe('requestFromFlags', () => {
  it('builds the nested PlanRequest the API takes from the common flags', () => {
    const { planFlags } = parseArgs(
      (
        '--model llama-3-8b --gpu a100-80gb --nodes 1 --gpus-per-node 8 --method full --precision bf16-mixed ' +
        '--optimizer adamw --zero 3 --tp 1 --pp 1 --cp 1 --seq 4096 --mb 1 --checkpointing full'
      ).split(' '),
    );
    expect(requestFromFlags(planFlags)).toEqual({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
      training: {
        method: 'full',
        precision: 'bf16-mixed',
        optimizer: 'adamw',
        sequenceLength: 4096,
        microBatchSize: 1,
        activationCheckpointing: 'full',
      },
      parallelism: { zeroStage: 3, tensorParallel: 1, pipelineParallel: 1, contextParallel: 1 },
    });
  });

  it('lays flags over a --file request without touching the rest of it', () => {
    const file = {
      model: 'llama-2-7b',
      cluster: { gpu: 'h100-80gb', nodes: 2 },
      runtime: { preset: 'megatron' },
    };
    const request = requestFromFlags({ 'gpus-per-node': '4', tp: '2' }, file);
    expect(request).toEqual({
      model: 'llama-2-7b',
      cluster: { gpu: 'h100-80gb', nodes: 2, gpusPerNode: 4 },
      runtime: { preset: 'megatron' },
      parallelism: { tensorParallel: 2 },
    });
    expect(file.cluster).toEqual({ gpu: 'h100-80gb', nodes: 2 });
  });

  it('reads lists: tags, and LoRA targets where all-linear stays a word', () => {
    expect(
      requestFromFlags({ model: 'm', gpu: 'g', tags: 'a, b', 'lora-targets': 'all-linear' }),
    ).toMatchObject({
      tags: ['a', 'b'],
      training: { lora: { targetModules: 'all-linear' } },
    });
    expect(
      requestFromFlags({ model: 'm', gpu: 'g', 'lora-targets': 'q_proj,v_proj' }),
    ).toMatchObject({
      training: { lora: { targetModules: ['q_proj', 'v_proj'] } },
    });
  });

  it('reads DoRA as a true or false flag', () => {
    expect(requestFromFlags({ model: 'm', gpu: 'g', 'lora-dora': 'true' })).toMatchObject({
      training: { lora: { useDora: true } },
    });
  });

  it('leaves text that is not a number as text, for the API checks to word the error', () => {
    expect(requestFromFlags({ tp: 'two', mfu: 'fast', zero: '3' })).toEqual({
      parallelism: { tensorParallel: 'two', zeroStage: 3 },
      runtime: { mfu: 'fast' },
    });
  });
});
