// Every catalog model can be planned under every framework preset: a model the catalog lists and
// a preset the API accepts either plan, or the plan's notes say which model code stood in.
import { estimatePlan } from '../src/application/estimate';
import { searchPlans } from '../src/application/search';
import { loadCatalog } from '../src/catalog/catalog';
import { architectureLimitErrors, FRAMEWORK_PRESETS, PlanRequestInput } from '../src/engine';

const catalog = loadCatalog();
const models = catalog.models();

function planOf(model: string, preset: (typeof FRAMEWORK_PRESETS)[number]) {
  const input: PlanRequestInput = {
    model,
    cluster: { gpu: 'h100-80gb', nodes: 1, gpusPerNode: 8 },
    training: { sequenceLength: 256 },
    // Megatron's engine shards as far as ZeRO-1 (its distributed optimizer).
    parallelism: { zeroStage: preset === 'megatron' ? 1 : 3 },
    runtime: { preset },
  };
  return estimatePlan(input, catalog);
}

describe('every catalog model', () => {
  it.each(models.map((model) => [model.id, model]))(
    '%s passes the limits a custom model must meet',
    (_id, model) => {
      expect(architectureLimitErrors(model, 'model')).toEqual([]);
    },
  );

  it.each(FRAMEWORK_PRESETS.map((preset) => [preset]))(
    'plans under preset %s, each device figure positive and finite',
    (preset) => {
      for (const model of models) {
        const used = planOf(model.id, preset).memory.perGpu.deviceUsedBytes;
        expect({ model: model.id, finite: Number.isFinite(used) && used > 0 }).toEqual({
          model: model.id,
          finite: true,
        });
      }
    },
  );

  it("says when a framework's own model code does not cover the model", () => {
    const vision = planOf('llama-3.2-11b-vision', 'torchtune');
    expect(vision.assumptions).toContainEqual(
      expect.stringMatching(
        /^torchtune's model code .* cross-attention layers: .*modeling_mllama\.py/,
      ),
    );
    const cohere = planOf('command-r', 'litgpt');
    expect(cohere.assumptions).toContainEqual(
      expect.stringMatching(
        /^litgpt's model code .* one norm in a sequential block: .*modeling_cohere\.py/,
      ),
    );
    // litgpt's Block has post_attention_norm and post_mlp_norm, which recipes/litgpt.ts does
    // not build: Gemma-2's four norms a layer are planned in Hugging Face's code.
    const gemma2 = planOf('gemma-2-9b', 'litgpt');
    expect(gemma2.assumptions).toContainEqual(
      expect.stringMatching(/^litgpt's model code .* 4 norms a layer: .*modeling_gemma2\.py/),
    );
    // litgpt's GPT holds wte, h and ln_f: no position table, so GPT-2's wpe needs Hugging Face's.
    const gpt2 = planOf('gpt-2', 'litgpt');
    expect(gpt2.assumptions).toContainEqual(
      expect.stringMatching(
        /^litgpt's model code .* learned position embeddings: .*modeling_gpt2\.py/,
      ),
    );
    const llama = planOf('llama-3-8b', 'litgpt');
    expect(llama.assumptions.filter((note) => note.includes('model code is planned'))).toEqual([]);
  });

  it('searches layouts for an encoder-decoder (T5): whole-stack probes, no pipeline splits', () => {
    const found = searchPlans(
      {
        model: 't0-3b',
        cluster: { gpu: 'h100-80gb', gpus: 16 },
        training: { sequenceLength: 1024 },
      },
      catalog,
    );
    expect(found.results.length).toBeGreaterThan(0);
    expect(found.results.every((r) => r.request.parallelism.pipelineParallel === 1)).toBe(true);
    expect(
      found.counts.rejected.invalidSplitByField['parallelism.pipelineParallel'],
    ).toBeGreaterThan(0);
  });

  it.each([['mixtral-8x7b'], ['phi-3.5-moe']])(
    'searches QLoRA layouts of %s, whose experts may spread over context ranks alone',
    (model) => {
      const found = searchPlans(
        {
          model,
          cluster: { gpu: 'a100-80gb', gpus: 8 },
          training: { method: 'qlora', sequenceLength: 8192 },
        },
        catalog,
      );
      expect(found.results.length).toBeGreaterThan(0);
    },
  );
});
