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

export const OPENAPI_TITLE = 'Shardplan';

/** Operations whose body is a PlanRequest: Swagger UI's "Try it out" starts from the example. */
const PLAN_REQUEST_OPERATIONS = ['/api/v1/plans/estimate', '/api/v1/plans'];

function withExampleRequest(document: OpenAPIObject): void {
  for (const path of PLAN_REQUEST_OPERATIONS) {
    const body = document.paths[path]?.post?.requestBody;
    const json = body && 'content' in body ? body.content['application/json'] : undefined;
    if (json) json.example = EXAMPLE_PLAN_REQUEST;
  }
}

/** Registers the OpenAPI document and Swagger UI; call before app.listen() / app.init(). */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle(OPENAPI_TITLE)
    .setDescription(
      'Plans the per-GPU memory, speed and cost of training and serving large language models: ' +
        'estimate a plan, compare strategies side by side, search parallel layouts, and keep ' +
        'saved plans. Byte figures are integers in bytes; errors are application/problem+json ' +
        'with an `errors` list of { field, message }.',
    )
    .setVersion(ENGINE_VERSION)
    .addTag('plans', 'estimate, save, list, compare and search plans')
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
