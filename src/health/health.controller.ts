// GET /health: the process answers and the database answers a query.
import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  @ApiOperation({ summary: 'Liveness plus a database check' })
  @ApiOkResponse({ description: "{ status: 'ok', database: 'ok' }" })
  async check(): Promise<{ status: 'ok'; database: 'ok' }> {
    try {
      await this.dataSource.query('SELECT 1');
    } catch (error) {
      throw new ServiceUnavailableException(`database check failed: ${(error as Error).message}`);
    }
    return { status: 'ok', database: 'ok' };
  }
}
