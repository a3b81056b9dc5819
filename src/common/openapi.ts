// OpenAPI description of the planner: Swagger UI at /docs, the JSON document at /docs-json.
import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ENGINE_VERSION } from '../engine';

/** The request the docs use as their example: Llama-3-8B full fine-tune on one 8 x A100-80GB node. */
export const EXAMPLE_PLAN_REQUEST = {
  name: 'llama-3-8b full fine-tune on 8 x A100-80GB',
  tags: ['example'],
  model: 'llama-3-8b',
  cluster: { gpu: 'a100-80gb', nodes: 1, gpusPerNode: 8 },
  training: {
    method: 'full',
    precision: 'bf16-mixed',
    optimizer: 'adamw',
    microBatchSize: 1,
    sequenceLength: 4096,
  },
  parallelism: { zeroStage: 3 },
} as const;

/** The question: how many L40S does a QLoRA fine-tune of Llama-3.1-70B at 2,048 tokens
 * need (one runs out of memory)? */
export const EXAMPLE_GPUS_NEEDED_REQUEST = {
  model: 'llama-3.1-70b',
  cluster: { gpu: 'l40s' },
  training: { method: 'qlora', sequenceLength: 2048 },
} as const;

export const OPENAPI_TITLE = 'Shardplan';

/** Swagger UI's "Try it out" starts each of these operations from its example body. */
const EXAMPLE_BODIES: Record<string, object> = {
  '/api/v1/plans/estimate': EXAMPLE_PLAN_REQUEST,
  '/api/v1/plans': EXAMPLE_PLAN_REQUEST,
  '/api/v1/plans/gpus-needed': EXAMPLE_GPUS_NEEDED_REQUEST,
};

function withExampleRequest(document: OpenAPIObject): void {
  for (const [path, example] of Object.entries(EXAMPLE_BODIES)) {
    const body = document.paths[path]?.post?.requestBody;
    const json = body && 'content' in body ? body.content['application/json'] : undefined;
    if (json) json.example = example;
  }
}

/** Registers the OpenAPI document and Swagger UI; call before app.listen() / app.init(). */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle(OPENAPI_TITLE)
    .setDescription(
      'Plans the per-GPU memory, speed and cost of training and serving large language models: ' +
        'estimate a plan (with the 80% range of its device memory, a verdict and advice when it ' +
        'does not fit), compare strategies side by side, search parallel layouts, ask how many ' +
        'GPUs a job needs, and keep saved plans. Byte figures are integers in bytes; errors are application/problem+json ' +
        'with an `errors` list of { field, message }.',
    )
    .setVersion(ENGINE_VERSION)
    .addTag('plans', 'estimate, save, list, compare and search plans; how many GPUs a job needs')
    .addTag('models', 'the model catalog')
    .addTag('gpus', 'the GPU catalog')
    .addTag('strategies', 'what each strategy shards and its constraints')
    .addTag('vocabulary', 'enum values, memory component order and defaults')
    .addTag('health', 'liveness and database check')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  withExampleRequest(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
