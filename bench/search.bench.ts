// `npm run bench:search`: wall time of a full layout search as the cluster grows.
// Llama-3-70B full fine-tuning at 8k context on H100 80GB, nodes of eight. The throughput
// objective plans best-first and stops at the top 10 that fit; headroom walks small micro-batches
// first and skips larger ones once they cannot reach the top 10.
import { loadCatalog, resolveGpu, resolveModel } from '../src/catalog/catalog';
import { estimatePlan } from '../src/application/estimate';
import { PlanRequestInput } from '../src/engine';
import { searchLayouts, SearchObjective } from '../src/engine';
import { PlanResult } from '../src/engine';

const catalog = loadCatalog();
const model = 'llama-3-70b';
const context = { arch: resolveModel(catalog, model), gpu: resolveGpu(catalog, 'h100-80gb') };
const plan = (request: PlanRequestInput): PlanResult => estimatePlan(request, catalog);

console.log('Llama-3-70B full fine-tuning, 8,192 tokens, H100 80GB, 8 GPUs per node');
for (const objective of ['throughput', 'headroom'] as SearchObjective[]) {
  console.log(`\nobjective ${objective}`);
  console.log('GPUs  candidates  evaluated  feasible  pruned  seconds  best layout');
  for (const gpus of [8, 64, 512, 1024, 4096]) {
    const started = process.hrtime.bigint();
    const found = searchLayouts(
      {
        model,
        cluster: { gpu: 'h100-80gb', gpus, gpusPerNode: 8 },
        training: { method: 'full', sequenceLength: 8192 },
        objective,
      },
      plan,
      context,
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const best = found.results[0];
    console.log(
      [
        String(gpus).padStart(4),
        String(found.counts.candidates).padStart(11),
        String(found.counts.evaluated).padStart(10),
        String(found.counts.feasible).padStart(9),
        String(found.counts.pruned).padStart(7),
        seconds.toFixed(3).padStart(8),
        best ? ` ${best.label} (${Math.round(best.figures.tokensPerSecond)} tok/s)` : ' none fits',
      ].join(' '),
    );
  }
}
