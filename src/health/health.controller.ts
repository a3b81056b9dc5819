// GET /health: the process answers and the database answers a query.
import { Controller, Get, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';

@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly logger = new Logger(HealthController.name);

  constructor(private readonly dataSource: DataSource) {}

  @Get()
  @ApiOperation({ summary: 'Liveness plus a database check' })
  @ApiOkResponse({ description: "{ status: 'ok', database: 'ok' }" })
  async check(): Promise<{ status: 'ok'; database: 'ok' }> {
    try {
      await this.dataSource.query('SELECT 1');
    } catch (error) {
      // The driver's message names hosts and files: it goes to the log, not to the caller.
      this.logger.error(`database check failed: ${(error as Error).message}`);
      throw new ServiceUnavailableException('the database does not answer; see the service log');
    }
    return { status: 'ok', database: 'ok' };
  }
}
