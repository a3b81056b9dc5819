// The 13 real config.json files of test/fixtures/configs, planned as a user sends them (inline,
// through the catalog and the engine): each is accepted and its parameters match the published
// counts. Published figures and their sources are written beside each row; a figure published
// only rounded (42B) is met when the count rounds to it, to the digits it was given.
import { readFileSync } from 'fs';
import { join } from 'path';
import { estimatePlan } from '../src/application/estimate';
import { loadCatalog } from '../src/catalog/catalog';
import { countParameters, PlanResult } from '../src/engine';
import { architectureFromConfig } from '../src/engine';

const catalog = loadCatalog();
const config = (file: string) =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures/configs', file), 'utf8')) as Record<
    string,
    unknown
  >;

/** A published figure: exact, or rounded to `digits` significant digits. */
interface Published {
  value: number;
  digits?: number;
  source: string;
}

interface Row {
  file: string;
  total: Published;
  /** Published active parameters per token, where the publisher gives them. */
  active?: Published & { excludesEmbedding?: boolean };
  gpus?: number;
}

const ROWS: Row[] = [
  {
    file: 'gemma-3-4b-it.json',
    total: {
      value: 4300079472,
      source:
        'sum(p.numel()) of Gemma3ForConditionalGeneration, google/gemma-3-4b-it @093f9f38 (public scripts)',
    },
  },
  {
    file: 'llama-4-scout-17b-16e-instruct.json',
    total: {
      value: 108641793536,
      source:
        'HF safetensors total, meta-llama/Llama-4-Scout-17B-16E-Instruct (public model tables)',
    },
    active: { value: 17e9, digits: 2, source: 'Meta model card: 17B active parameters' },
    gpus: 8,
  },
  {
    file: 'llama-3.2-11b-vision-instruct.json',
    total: {
      value: 10670220835,
      source: 'parameter count, meta-llama/llama-3.2-11b-vision-instruct (public model table)',
    },
  },
  {
    file: 'qwen2.5-vl-7b-instruct.json',
    total: {
      value: 8292166656,
      source:
        '"Parameter count 8292166656", Qwen2.5-VL-7B-Instruct on transformers 4.57.1 (public run logs)',
    },
  },
  {
    file: 'phi-3.5-moe-instruct.json',
    total: {
      value: 42e9,
      digits: 2,
      source: 'Microsoft: 42B total parameters (Phi-3.5-MoE model card)',
    },
    active: { value: 6.6e9, digits: 2, source: 'Microsoft: 6.6B active parameters with 2 experts' },
    gpus: 2,
  },
  {
    file: 'gpt-oss-20b.json',
    total: {
      value: 20914757184,
      source: 'general.parameter_count of gpt-oss:20b (Ollama model_info)',
    },
    // OpenAI's model card counts the unembedding but not the embedding table as active.
    active: {
      value: 3.6e9,
      digits: 2,
      excludesEmbedding: true,
      source: 'OpenAI gpt-oss model card: 3.6B active per token',
    },
  },
  {
    file: 'mamba-2.8b-hf.json',
    total: {
      value: 2768345600,
      source: 'mamba_ssm "Number of parameters: 2768345600" for state-spaces/mamba-2.8b',
    },
  },
  {
    file: 'falcon-mamba-7b.json',
    total: {
      value: 7.27e9,
      digits: 3,
      source: 'promptlayer.com/models/falcon-mamba-7b: "Parameter Count 7.27B" (the Hub\'s count)',
    },
  },
  {
    file: 'ai21-jamba-1.5-mini.json',
    total: { value: 52e9, digits: 2, source: 'AI21 model card: 52B total parameters' },
    active: { value: 12e9, digits: 2, source: 'AI21 model card: 12B active parameters' },
    gpus: 2,
  },
  {
    file: 'qwen3-8b.json',
    total: { value: 8190735360, source: 'shared catalog (HF safetensors total of Qwen/Qwen3-8B)' },
  },
  {
    file: 'llama-3.1-8b.json',
    total: {
      value: 8030261248,
      source: 'shared catalog (HF safetensors total of meta-llama/Llama-3.1-8B)',
    },
  },
  {
    file: 'deepseek-v3.json',
    total: {
      value: 671026419200,
      source: 'shared catalog: 671B main model, MTP module excluded (DeepSeek-V3 README)',
    },
    // Like OpenAI's, DeepSeek's activated figure leaves out the embedding table.
    active: {
      value: 37e9,
      digits: 2,
      excludesEmbedding: true,
      source: 'DeepSeek-V3 report: 37B activated parameters',
    },
    gpus: 64,
  },
  {
    file: 'mixtral-8x7b-v0.1.json',
    total: { value: 46702792704, source: 'shared catalog (keras-hub preset mixtral_8_7b_en)' },
    active: { value: 12.9e9, digits: 3, source: 'Mistral AI: 12.9B active parameters per token' },
  },
];

/** Within 0.5 %, or rounding to the published figure at the digits it was given. */
function agrees(count: number, published: Published): boolean {
  const within = Math.abs(count - published.value) / published.value <= 0.005;
  if (published.digits === undefined) return within;
  const scale = 10 ** (Math.floor(Math.log10(published.value)) - published.digits + 1);
  return within || Math.round(count / scale) * scale === published.value;
}

function plan(row: Row): PlanResult {
  const gpus = row.gpus ?? 1;
  return estimatePlan(
    {
      model: { id: row.file.replace('.json', ''), config: config(row.file) },
      cluster: { gpu: 'h100-80gb', nodes: Math.max(1, gpus / 8), gpusPerNode: Math.min(8, gpus) },
      training: { sequenceLength: 2048, activationCheckpointing: 'full' },
      parallelism: { zeroStage: 3 },
    },
    catalog,
  );
}

describe('the 13 real config.json files plan through the catalog and the engine', () => {
  it.each(ROWS.map((row) => [row.file, row] as const))('%s', (_file, row) => {
    const result = plan(row);
    expect(agrees(result.model.parameters.total, row.total)).toBe(true);
    if (row.active) {
      const arch = architectureFromConfig('a', config(row.file));
      const embedding = row.active.excludesEmbedding ? countParameters(arch).embedding : 0;
      expect(agrees(result.model.parameters.active - embedding, row.active)).toBe(true);
    }
    expect(result.memory.perGpu.deviceUsedBytes).toBeGreaterThan(0);
    expect(Number.isFinite(result.memory.perGpu.deviceUsedBytes)).toBe(true);
  });

  it('a rounded figure is met only by counts that round to it', () => {
    expect(agrees(41.873e9, { value: 42e9, digits: 2, source: '' })).toBe(true);
    expect(agrees(40.9e9, { value: 42e9, digits: 2, source: '' })).toBe(false);
    expect(agrees(6.54e9, { value: 6.6e9, digits: 2, source: '' })).toBe(false);
  });

  it("echoes in the plan's assumptions what a family leaves out or counts apart (vision towers' activations, state-space layers' fixed state)", () => {
    const gemma = plan(ROWS[0]);
    expect(gemma.assumptions.join('\n')).toContain(
      "siglip_vision_model image encoder's weights counted, and no optimizer states for it (no gradient reaches it, and PyTorch makes states for parameters with one); its activations are planned only for images per sample above 0",
    );
    const mamba = plan(ROWS.find((row) => row.file.startsWith('mamba'))!);
    expect(mamba.assumptions.join('\n')).toContain('state-space layers keep no keys or values');
  });
});
