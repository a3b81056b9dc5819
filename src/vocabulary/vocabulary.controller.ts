// GET /vocabulary: the values, component order and defaults the web page and scripts build on.
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Vocabulary, VOCABULARY } from '../application/vocabulary';

@ApiTags('vocabulary')
@Controller('vocabulary')
export class VocabularyController {
  @Get()
  @ApiOperation({ summary: 'Every enum of a request, the memory component order and the defaults' })
  @ApiOkResponse({ description: '{ enums: { field: values }, memoryComponents, defaults }' })
  vocabulary(): Vocabulary {
    return VOCABULARY;
  }
}
