// The web page in a real browser: Debian's Chromium driven by playwright-core against the real
// AppModule on a SQLite file of its own. Without Chromium it skips itself, except under CI
// (CI set), where a missing browser fails the run: .ci/run installs it.
import { INestApplication } from '@nestjs/common';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { CompareEntry, PlanResult, RankMemory } from '../../src/engine';
import { EXAMPLE_PLAN_REQUEST } from '../../src/common/openapi';
import { startApp, temporaryDatabase } from '../support/app';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = join(__dirname, '..', '..', 'docs');
const GIB = 1024 ** 3;
/** An iPhone 12 to 15 held upright: the narrowest screen the page is laid out for. */
const PHONE = { width: 390, height: 844 };

/** The README's example (the OpenAPI document's): Llama-3-8B, full fine-tune, bf16-mixed AdamW,
 * ZeRO-3 on 8 x A100-80GB. */
const EXAMPLE = EXAMPLE_PLAN_REQUEST;

/** What the page exposes on window.shardplan for tests and the console (Chart.js instances). */
interface ChartState {
  labels: string[];
  datasets: { key: string; data: (number | null)[] }[];
  stacked: boolean;
  capacity: number;
  capacityY: number;
  middleX: number;
  pixelRatio: number;
}

/** Reads a chart of the page ('plan' or 'compare') into plain data. */
function readChart(page: Page, name: 'plan' | 'compare'): Promise<ChartState> {
  return page.evaluate((chartName) => {
    interface ChartJs {
      data: { labels: string[]; datasets: { componentKey: string; data: (number | null)[] }[] };
      options: {
        scales: { y: { stacked: boolean } };
        plugins: { capacityLine: { value: number } };
      };
      scales: { y: { getPixelForValue(value: number): number } };
      chartArea: { left: number; right: number };
      currentDevicePixelRatio: number;
    }
    const chart = (window as unknown as { shardplan: { charts: Record<string, ChartJs> } })
      .shardplan.charts[chartName];
    const capacity = chart.options.plugins.capacityLine.value;
    return {
      labels: chart.data.labels,
      datasets: chart.data.datasets.map((d) => ({ key: d.componentKey, data: d.data })),
      stacked: chart.options.scales.y.stacked,
      capacity,
      capacityY: Math.round(chart.scales.y.getPixelForValue(capacity)),
      middleX: Math.round((chart.chartArea.left + chart.chartArea.right) / 2),
      pixelRatio: chart.currentDevicePixelRatio,
    };
  }, name);
}

const haveChromium = existsSync(CHROMIUM);
const underCi = Boolean(process.env.CI);
const describeInBrowser = haveChromium || underCi ? describe : describe.skip;
if (!haveChromium) {
  console.warn(
    `web page browser test ${underCi ? 'FAILS' : 'SKIPPED'}: ${CHROMIUM} is absent (apt-get install -y chromium)`,
  );
}

/** The chart's GiB for a component: its dataset's value, or 0 where the page drew none. */
function drawnGiB(chart: ChartState, component: string, bar = 0): number {
  return chart.datasets.find((d) => d.key === component)?.data[bar] ?? 0;
}

/** Every component the API reports for a rank is drawn at its size, and the bar is as tall as
 * the device's use (the allocator's reserve fills reserved - allocated). */
function expectBarOf(chart: ChartState, rank: RankMemory, bar = 0): void {
  for (const [component, bytes] of Object.entries(rank.breakdown))
    expect([component, drawnGiB(chart, component, bar)]).toEqual([
      component,
      expect.closeTo((bytes ?? 0) / GIB, 6),
    ]);
  const stack = chart.datasets.reduce((sum, d) => sum + (d.data[bar] ?? 0), 0);
  expect(stack).toBeCloseTo(rank.deviceUsedBytes / GIB, 6);
}

describeInBrowser(
  `web page in Chromium${haveChromium ? '' : ` (${CHROMIUM} not installed)`}`,
  () => {
    jest.setTimeout(120_000);

    it('has Chromium to run in', () => {
      expect(existsSync(CHROMIUM)).toBe(true);
    });

    let app: INestApplication;
    let database: { path: string; remove: () => void };
    let profile: string;
    let context: BrowserContext;
    let page: Page;
    let baseUrl: string;
    const pageErrors: string[] = [];

    /** What the API itself says for a request, to hold the page's figures against. */
    async function apiEstimate(body: unknown): Promise<PlanResult> {
      const response = await fetch(`${baseUrl}/api/v1/plans/estimate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as PlanResult;
    }

    /** The text the page shows for a byte figure: GiB, two decimals below 10 and one above. */
    function shownGiB(bytes: number): string {
      const value = bytes / GIB;
      return `${value.toFixed(Math.abs(value) < 10 ? 2 : 1)} GiB`;
    }

    beforeAll(async () => {
      database = temporaryDatabase();
      app = await startApp(database.path);
      await app.listen(0, '127.0.0.1');
      baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      profile = mkdtempSync(join(tmpdir(), 'shardplan-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1400, height: 1000 },
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('pageerror', (error) => pageErrors.push(error.message));
      mkdirSync(DOCS, { recursive: true });
    });

    afterAll(async () => {
      await context?.close();
      await app?.close();
      database?.remove();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('loads the page, the catalogs and the locally served chart library', async () => {
      await page.goto(`${baseUrl}/`);
      await page.waitForSelector('body[data-ready="true"]');
      expect(
        await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart),
      ).toBe('function');
      const models = await page.$$eval('#model option', (options) =>
        options.map((o) => (o as HTMLOptionElement).value),
      );
      const gpus = await page.$$eval('#gpu option', (options) =>
        options.map((o) => (o as HTMLOptionElement).value),
      );
      expect(models).toEqual(expect.arrayContaining(['llama-3-8b', 'llama-2-70b', 'mixtral-8x7b']));
      expect(gpus).toEqual(expect.arrayContaining(['a100-80gb', 'h100-80gb', 'l40s']));
    });

    it('creates a plan through the form and charts every component against the capacity line', async () => {
      await page.selectOption('#model', EXAMPLE.model);
      await page.selectOption('#gpu', EXAMPLE.cluster.gpu);
      await page.fill('#nodes', String(EXAMPLE.cluster.nodes));
      await page.fill('#gpus-per-node', String(EXAMPLE.cluster.gpusPerNode));
      await page.selectOption('#method', EXAMPLE.training.method);
      await page.selectOption('#precision', EXAMPLE.training.precision);
      await page.selectOption('#optimizer', EXAMPLE.training.optimizer);
      await page.selectOption('#zero', String(EXAMPLE.parallelism.zeroStage));
      // The example leaves the rest at the API's defaults: no model split, no recomputation.
      await page.fill('#tp', '1');
      await page.fill('#pp', '1');
      await page.fill('#cp', '1');
      await page.fill('#seq', String(EXAMPLE.training.sequenceLength));
      await page.fill('#micro-batch', String(EXAMPLE.training.microBatchSize));
      await page.selectOption('#checkpointing', 'none');
      const answer = page.waitForResponse(
        (r) => r.url().endsWith('/api/v1/plans/estimate') && r.status() === 200,
      );
      await page.click('#estimate');
      await answer;
      await page.waitForFunction(() => {
        const state = (
          window as unknown as {
            shardplan: { lastResult?: { request: { parallelism: { zeroStage: number } } } };
          }
        ).shardplan;
        return state.lastResult?.request.parallelism.zeroStage === 3;
      });

      const expected = await apiEstimate(EXAMPLE);
      const perGpu = expected.memory.perGpu;
      expect(await page.textContent('[data-testid=peak]')).toContain(
        shownGiB(perGpu.deviceUsedBytes),
      );
      expect(await page.textContent('[data-testid=headroom]')).toContain(
        shownGiB(perGpu.headroomBytes),
      );
      expect(await page.textContent('[data-testid=fits-badge]')).toBe(perGpu.verdict);
      expect(await page.textContent('[data-testid=layout]')).toContain('DP 8 · TP 1 · PP 1 · CP 1');

      const chart = await readChart(page, 'plan');
      expect(chart.labels).toHaveLength(1); // no pipeline: one bar for every GPU
      expectBarOf(chart, perGpu);
      expect(chart.capacity).toBeCloseTo(perGpu.capacityBytes / GIB, 6);

      // The capacity line is drawn in red (dashed) across the plot at the capacity's height.
      const redPixels = await page.evaluate(
        ({ x, y, ratio }) => {
          const canvas = document.querySelector('#plan-chart') as HTMLCanvasElement;
          const context2d = canvas.getContext('2d')!;
          const strip = context2d.getImageData(
            Math.round((x - 20) * ratio),
            Math.round((y - 2) * ratio),
            Math.round(40 * ratio),
            Math.round(5 * ratio),
          ).data;
          let red = 0;
          for (let i = 0; i < strip.length; i += 4) {
            if (strip[i] > 150 && strip[i + 1] < 110 && strip[i + 2] < 110) red += 1;
          }
          return red;
        },
        { x: chart.middleX, y: chart.capacityY, ratio: chart.pixelRatio },
      );
      expect(redPixels).toBeGreaterThan(20);
      expect(pageErrors).toEqual([]);
      await page.screenshot({ path: join(DOCS, 'plan-view.png'), fullPage: false });
    });

    it('draws one bar per pipeline stage when the model is split', async () => {
      await page.fill('#pp', '2');
      await page.click('#estimate');
      await page.waitForFunction(
        () => document.querySelectorAll('#ranks-table tbody tr').length === 2,
      );
      const chart = await readChart(page, 'plan');
      expect(chart.labels).toEqual(['stage 0', 'stage 1']);
      for (const dataset of chart.datasets) expect(dataset.data).toHaveLength(2);
      await page.fill('#pp', '1');
      await page.click('#estimate');
      await page.waitForFunction(
        () => document.querySelectorAll('#ranks-table tbody tr').length === 1,
      );
    });

    it("shows the API's field error next to the field it names", async () => {
      await page.fill('#tp', '3');
      await page.click('#estimate');
      const error = await page.waitForSelector(
        '[data-field="parallelism.tensorParallel"] [data-testid=field-error]',
      );
      expect(await error.textContent()).toMatch(/tensorParallel \(3\)/);
      // The plan still shown is the last one that could be made, and it says so.
      expect(await page.isVisible('[data-testid=result-stale]')).toBe(true);
      await page.fill('#tp', '1');
      await page.click('#estimate');
      await page.waitForSelector('[data-testid=field-error]', { state: 'detached' });
      await page.waitForSelector('[data-testid=result-stale]', { state: 'hidden' });
    });

    it('compares ZeRO stages 0-3 as grouped stacked bars', async () => {
      await page.click('#compare-zero');
      await page.waitForSelector('#compare:not([hidden])');
      const compare = await readChart(page, 'compare');
      expect(compare.labels).toEqual(['ZeRO-0', 'ZeRO-1', 'ZeRO-2', 'ZeRO-3']);
      expect(compare.stacked).toBe(true);
      expect(compare.capacity).toBeCloseTo(80, 0);
      const compared = await page.evaluate(
        () =>
          (window as unknown as { shardplan: { compareRows: CompareEntry[] } }).shardplan
            .compareRows,
      );
      compared.forEach((row, bar) => expectBarOf(compare, row.result!.memory.perGpu, bar));
      // Each stage shards more, so the per-GPU peak never grows from ZeRO-0 to ZeRO-3.
      const rows = await page.evaluate(() =>
        (
          window as unknown as { shardplan: { compareRows: { result: PlanResult }[] } }
        ).shardplan.compareRows.map((row) => row.result.memory.perGpu.deviceUsedBytes),
      );
      for (let stage = 1; stage < 4; stage++)
        expect(rows[stage]).toBeLessThanOrEqual(rows[stage - 1]);
      expect(await page.$$eval('#compare-table tbody tr', (trs) => trs.length)).toBe(4);
      await (await page.$('#compare'))!.screenshot({ path: join(DOCS, 'zero-compare.png') });
    });

    it('labels the comparison as made for an earlier plan once the form plans another', async () => {
      expect(await page.isVisible('[data-testid=compare-stale]')).toBe(false);
      await page.fill('#seq', '2048');
      await page.click('#estimate');
      const note = await page.waitForSelector('[data-testid=compare-stale]', { state: 'visible' });
      expect(await note.textContent()).toContain(
        'llama-3-8b on 1 x 8 a100-80gb, ZeRO-3, sequence 4096',
      );
      // Back to the request it was made for, the comparison is current again.
      await page.fill('#seq', '4096');
      await page.click('#estimate');
      await page.waitForSelector('[data-testid=compare-stale]', { state: 'hidden' });
    });

    it('saves the plan with a name and tag, finds it in the list, and deletes it', async () => {
      await page.fill('#plan-name', 'browser: 8B on one A100 node');
      await page.fill('#plan-tags', 'browser-e2e, demo');
      await page.click('#save');
      const row = await page.waitForSelector(
        '[data-testid=saved-plan]:has-text("browser: 8B on one A100 node")',
      );
      expect(await row.textContent()).toContain('llama-3-8b');

      await page.fill('#tag-filter', 'browser-e2e');
      await page.waitForFunction(() =>
        document.querySelector('#export-csv')?.getAttribute('href')?.endsWith('tag=browser-e2e'),
      );
      await page.waitForSelector(
        '[data-testid=saved-plan]:has-text("browser: 8B on one A100 node")',
      );
      expect(await page.$$eval('[data-testid=saved-plan]', (rows) => rows.length)).toBe(1);

      await page.fill('#tag-filter', 'no-such-tag');
      await page.waitForSelector('#plans-table :text("No plans tagged")');

      await page.fill('#tag-filter', 'browser-e2e');
      await page.waitForSelector('[data-testid=saved-plan]');
      page.once('dialog', (dialog) => void dialog.accept());
      await page.click('[data-testid=saved-plan] [data-testid=delete-plan]');
      await page.waitForSelector('#plans-table :text("No plans tagged")');
      expect(pageErrors).toEqual([]);
    });

    it('searches layouts, sorts the table and opens a row as the plan', async () => {
      await page.selectOption('#search-objective', 'throughput');
      await page.click('#search');
      await page.waitForSelector('[data-testid=search-row]');
      const rows = await page.$$('[data-testid=search-row]');
      expect(rows.length).toBeGreaterThan(0);

      // Sorting by per-GPU peak, ascending then descending, orders the shown GiB figures.
      const peaks = () =>
        page.$$eval('[data-testid=search-row]', (trs) =>
          trs.map((tr) => parseFloat((tr.children[5] as HTMLElement).textContent ?? '')),
        );
      await page.click('#search-table th[data-sort=peak]');
      const ascending = await peaks();
      expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
      await page.click('#search-table th[data-sort=peak]');
      const descending = await peaks();
      expect(descending).toEqual([...descending].sort((a, b) => b - a));

      // Opening the smallest-peak layout puts its degrees in the form and shows its plan.
      await page.click('#search-table th[data-sort=peak]');
      const chosen = await page.evaluate(() => {
        interface Row {
          result: PlanResult;
        }
        const rows = (window as unknown as { shardplan: { searchRows: Row[] } }).shardplan
          .searchRows;
        return rows.reduce((a, b) =>
          b.result.memory.perGpu.deviceUsedBytes < a.result.memory.perGpu.deviceUsedBytes ? b : a,
        ).result;
      });
      await page.click('[data-testid=search-row] >> nth=0');
      expect(await page.inputValue('#tp')).toBe(String(chosen.layout.tensorParallel));
      expect(await page.inputValue('#pp')).toBe(String(chosen.layout.pipelineParallel));
      expect(await page.inputValue('#zero')).toBe(String(chosen.request.parallelism.zeroStage));
      expect(await page.textContent('[data-testid=peak]')).toContain(
        shownGiB(chosen.memory.perGpu.deviceUsedBytes),
      );
      expect(pageErrors).toEqual([]);
    });

    it('plans serving: the inference form charts the KV cache next to the weights', async () => {
      await page.selectOption('#workload', 'inference');
      await page.fill('#inf-batch', '16');
      await page.click('#estimate');
      await page.waitForSelector('[data-testid=max-batch]');
      const shown = await page.evaluate(
        () => (window as unknown as { shardplan: { lastResult: PlanResult } }).shardplan.lastResult,
      );
      expect(shown.request.workload).toBe('inference');
      expect(shown.request.inference?.batchSize).toBe(16);
      const chart = await readChart(page, 'plan');
      const kvCache = chart.datasets.find((d) => d.key === 'kvCache');
      expect(kvCache?.data[0]).toBeCloseTo((shown.memory.perGpu.breakdown.kvCache ?? 0) / GIB, 6);
      expect(kvCache?.data[0]).toBeGreaterThan(0);
      expect(chart.datasets.map((d) => d.key)).not.toContain('optimizerStates');
      expect(pageErrors).toEqual([]);
    });

    it("shows the issue's plan that does not fit: its range, verdict, advice and GPU count", async () => {
      // Llama-3.1-70B, QLoRA at 2,048 tokens on one L40S: 121 GiB on a 45 GiB card.
      await page.selectOption('#workload', 'training');
      await page.selectOption('#model', 'llama-3.1-70b');
      await page.selectOption('#gpu', 'l40s');
      for (const [field, value] of Object.entries({
        '#nodes': '1',
        '#gpus-per-node': '1',
        '#seq': '2048',
        '#micro-batch': '1',
        '#grad-accum': '1',
        '#tp': '1',
        '#pp': '1',
        '#cp': '1',
      }))
        await page.fill(field, value);
      for (const [field, value] of Object.entries({
        '#method': 'qlora',
        '#precision': 'bf16-mixed',
        '#optimizer': 'adamw',
        '#zero': '0',
        '#checkpointing': 'none',
        '#preset': 'none',
        '#cross-entropy': '',
        '#offload-optimizer': 'none',
        '#offload-parameters': 'none',
        '#sequence-parallel': '',
      }))
        await page.selectOption(field, value);
      await page.click('#estimate');
      await page.waitForFunction(() => {
        const shown = (window as unknown as { shardplan: { lastResult?: PlanResult } }).shardplan
          .lastResult;
        return shown?.model.id === 'llama-3.1-70b' && shown.request.cluster.gpu === 'l40s';
      });
      const input = await page.evaluate(
        () => (window as unknown as { shardplan: { lastInput: unknown } }).shardplan.lastInput,
      );
      const expected = await apiEstimate(input);
      const perGpu = expected.memory.perGpu;
      const [low, high] = perGpu.deviceUsedRangeBytes!;
      expect(await page.textContent('[data-testid=fits-badge]')).toBe('does not fit');
      expect(await page.textContent('[data-testid=range]')).toContain(
        `${(low / GIB).toFixed(1)}–${(high / GIB).toFixed(1)} GiB`,
      );
      const items = await page.$$eval('[data-testid=advice-item]', (lis) =>
        lis.map((li) => li.textContent ?? ''),
      );
      expect(items).toHaveLength(expected.advice!.length);
      expected.advice!.forEach((advice, i) => expect(items[i]).toContain(advice.sentence));

      // How many GPUs: the page shows the API's fewest count for the job.
      const gpusAnswer = page.waitForResponse((r) => r.url().endsWith('/api/v1/plans/gpus-needed'));
      await page.click('#gpus-needed');
      const answer = (await (await gpusAnswer).json()) as { fewest: { gpus: number } };
      const fewest = await page.waitForSelector('[data-testid=gpus-fewest]');
      expect(await fewest.textContent()).toContain(`${answer.fewest.gpus} (`);
      await (await page.$('#result'))!.screenshot({ path: join(DOCS, 'advice-view.png') });

      // Applying the first advice plans its request: it fits, as the advice said.
      await page.click('[data-testid=advice-item] >> nth=0 >> [data-testid=apply-advice]');
      await page.waitForFunction(
        (used) =>
          (window as unknown as { shardplan: { lastResult: PlanResult } }).shardplan.lastResult
            .memory.perGpu.deviceUsedBytes === used,
        expected.advice![0].figures.deviceUsedBytes,
      );
      expect(await page.textContent('[data-testid=fits-badge]')).toBe(
        expected.advice![0].figures.verdict,
      );
      expect(pageErrors).toEqual([]);
    });

    it('is usable 390 px wide: nothing wider than the screen, the plan readable', async () => {
      await page.setViewportSize(PHONE);
      // Opened afresh from a shared link to the README's example, which the form takes up (from
      // the page itself, a new #plan= would only change the fragment, not reload).
      await page.goto('about:blank');
      await page.goto(`${baseUrl}/#plan=${encodeURIComponent(JSON.stringify(EXAMPLE))}`);
      await page.waitForSelector('body[data-ready="true"]');
      await page.waitForSelector('#result:not([hidden]) [data-testid=peak]');
      expect(await page.inputValue('#zero')).toBe(String(EXAMPLE.parallelism.zeroStage));
      const widest = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(widest).toBeLessThanOrEqual(PHONE.width);
      for (const control of ['#model', '#gpu', '#seq', '#estimate', '#plan-chart']) {
        const box = (await page.locator(control).boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      }
      await (await page.$('#result'))!.screenshot({ path: join(DOCS, 'plan-view-390.png') });
      expect(pageErrors).toEqual([]);
    });
  },
);
