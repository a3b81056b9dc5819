// `npm run bench:search`: wall time of a layout search as the cluster grows.
// Llama-3-70B full fine-tuning at 8k context on H100 80GB, nodes of eight. Candidates are
// screened by the memory bound (short-stack probes shared across candidates) and only finalists
// are planned on the full timeline: the throughput objective plans best-first and stops at the
// top 10 that fit; headroom plans by the most headroom the bound allows until it cannot beat the
// top. A row whose finalists the engine cannot plan prints the error instead of a time. The rows
// share one process, so the engine's simulation memo keeps the probes earlier rows ran (as a
// server answering repeated searches would); `npm run bench:engine` times cold searches.
import { loadCatalog, resolveGpu, resolveModel } from '../src/catalog/catalog';
import { estimatePlan } from '../src/application/estimate';
import { PlanRequestInput, searchLayouts, SearchObjective, SearchResult } from '../src/engine';
import { PlanResult } from '../src/engine';
import { printTable, timed } from './support';

const catalog = loadCatalog();
const model = 'llama-3-70b';
const context = { arch: resolveModel(catalog, model), gpu: resolveGpu(catalog, 'h100-80gb') };
const plan = (request: PlanRequestInput): PlanResult => estimatePlan(request, catalog);

function row(gpus: number, objective: SearchObjective): string[] {
  const run = timed(() =>
    searchLayouts(
      {
        model,
        cluster: { gpu: 'h100-80gb', gpus, gpusPerNode: 8 },
        training: { method: 'full', sequenceLength: 8192 },
        objective,
      },
      plan,
      context,
    ),
  );
  if (run.error) return [String(gpus), '', '', '', '', '', '', 'error', `error: ${run.error}`];
  const found: SearchResult = run.value!;
  const c = found.counts;
  const best = found.results[0];
  return [
    String(gpus),
    String(c.candidates),
    String(c.boundEvaluated),
    String(c.boundProbes),
    String(c.planned),
    String(c.feasible),
    String(c.pruned),
    (run.ms / 1000).toFixed(3),
    best ? `${best.label} (${Math.round(best.figures.tokensPerSecond)} tok/s)` : 'none fits',
  ];
}

console.log('Llama-3-70B full fine-tuning, 8,192 tokens, H100 80GB, 8 GPUs per node');
for (const objective of ['throughput', 'headroom'] as SearchObjective[]) {
  console.log(`\nobjective ${objective}`);
  const header = ['GPUs', 'candidates', 'bounded', 'probes', 'planned', 'feasible', 'pruned'];
  const rows = [8, 64, 512, 1024, 4096].map((gpus) => row(gpus, objective));
  printTable([...header, 'seconds', 'best layout'], rows);
}
