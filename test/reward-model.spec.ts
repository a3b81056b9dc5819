// A reward model as TRL's RewardTrainer trains it (trl/trainer/reward_trainer.py): the checkpoint
// loaded as AutoModelForSequenceClassification with num_labels=1, each pair's chosen and rejected
// sequences in one batch, the loss -logsigmoid(chosen - rejected) over the pooled scores.
import { estimatePlan } from '../src/application/estimate';
import { loadCatalog } from '../src/catalog/catalog';
import { normalizeRequest, PlanRequestInput } from '../src/engine';
import { BERT_BASE } from './support/bert';

const catalog = loadCatalog();

const reward = (model: PlanRequestInput['model'], training: PlanRequestInput['training'] = {}) =>
  estimatePlan(
    {
      model,
      cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 1 },
      training: { preference: 'reward', sequenceLength: 512, ...training },
    },
    catalog,
  );

describe('a reward model', () => {
  it("replaces Llama-3-8B's untied lm_head (128,256 x 4,096) with a one-output score (4,096)", () => {
    const plan = reward('llama-3-8b');
    expect(plan.model.parameters.total).toBe(8_030_261_248 - 128_256 * 4_096 + 4_096); // 7,504,928,768
  });

  it("keeps Llama-3.2-1B's tied embedding and adds the score", () => {
    expect(reward('llama-3.2-1b').model.parameters.total).toBe(1_235_814_400 + 2_048);
  });

  it("plans BERT's b pairs as BertForSequenceClassification(num_labels=1) over 2b sequences, its dropout modules at p = 0 (TRL's disable_dropout)", () => {
    // BertModel with its pooler: embeddings 30,522 x 768 + 512 x 768 + 2 x 768 + LayerNorm 1,536;
    // 12 layers of 7,087,872; the pooler 768 x 768 + 768; then the classifier 768 + 1.
    const embeddings = 30_522 * 768 + 512 * 768 + 2 * 768 + 2 * 768;
    const counted = embeddings + 12 * 7_087_872 + (768 * 768 + 768) + (768 + 1);
    const pairs = reward(BERT_BASE, { microBatchSize: 4, activationCheckpointing: 'none' });
    // transformers 5's BERT applies every dropout through nn.Dropout modules, which TRL's
    // disable_dropout sets to 0: the classifier trained outside TRL keeps BertConfig's 0.1
    const classifierWith = (dropout: number) =>
      estimatePlan(
        {
          model: {
            ...BERT_BASE,
            architectures: ['BertForSequenceClassification'],
            num_labels: 1,
            hidden_dropout_prob: dropout,
            attention_probs_dropout_prob: dropout,
          },
          cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 1 },
          training: { sequenceLength: 512, microBatchSize: 8 },
        },
        catalog,
      );
    const classifier = classifierWith(0);
    expect(pairs.model.parameters.total).toBe(counted); // 109,483,009
    expect(classifier.model.parameters.total).toBe(counted);
    const figures = (plan: typeof pairs) => {
      const { allocatedPeakBytes, reservedPeakBytes } = plan.memory.perGpu;
      return { allocatedPeakBytes, reservedPeakBytes };
    };
    expect(figures(pairs)).toEqual(figures(classifier));
    const withDropout = figures(classifierWith(0.1));
    expect(withDropout.allocatedPeakBytes).toBeGreaterThan(figures(pairs).allocatedPeakBytes);
    expect(pairs.performance.tokensPerStep).toBe(8 * 512);
  });

  it('checkpoints every layer by default, as RewardConfig sets gradient_checkpointing, and has no DPO settings', () => {
    const request = normalizeRequest({
      model: 'llama-3-8b',
      cluster: { gpu: 'a100-80gb' },
      training: { preference: 'reward' },
    });
    expect(request.training.activationCheckpointing).toBe('full');
    expect(request.training.dpo).toBeUndefined();
  });

  it("is refused for an encoder-decoder and for model parallelism, naming TRL's RewardTrainer", () => {
    expect(() => reward('t0-3b')).toThrow(/reward model is planned as a decoder's or an encoder's/);
    const parallel = () =>
      estimatePlan(
        {
          model: 'llama-3-8b',
          cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
          training: { preference: 'reward' },
          parallelism: { tensorParallel: 2 },
        },
        catalog,
      );
    expect(parallel).toThrow(/TRL's RewardTrainer is planned on Accelerate's data parallelism/);
  });
});
